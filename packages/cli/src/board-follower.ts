import type { Board, BoardEvent } from '@kanban-db/core'

/** How often the follower reads the event log when no wake-up came (engines that announce nothing). */
export const FOLLOW_POLL_MS = 1000

/** Most events read per query while catching up. */
const BATCH = 1000

/** How a {@link BoardFollower} follows. */
export interface FollowOptions {
  /** Read at least this often (ms). Default {@link FOLLOW_POLL_MS}. */
  readonly pollMs?: number
  /** Start after this event id. Default: after the newest event now in the log. */
  readonly after?: number
  /** Only this task's events. */
  readonly taskId?: string
  /**
   * Hears a read that failed (the board unreachable for now: a server restart, a busy file); the
   * next wake-up or poll reads again from the same cursor either way. Default: not heard.
   */
  readonly onError?: (error: unknown) => void
  /** Its poll timer keeps the process running (a command that only follows). Default false. */
  readonly keepsProcessAlive?: boolean
}

/**
 * Follows the board's event log: reads the events after its cursor when the board announces a
 * change (`onWake`: this process's writes, and other processes' where the engine announces them)
 * and at least every `pollMs`, and hands each new batch to its listeners in order. One read runs
 * at a time; a wake-up during a read asks for one more. A read that fails skips nothing: the next
 * one starts from the same cursor.
 */
export class BoardFollower {
  private readonly listeners = new Set<(events: readonly BoardEvent[]) => void>()
  private reading: Promise<void> | undefined
  private readAgain = false
  private closed = false
  private readonly timer: NodeJS.Timeout
  private readonly stopWake: () => void

  private constructor(private readonly board: Board, private cursor: number, private readonly options: FollowOptions) {
    this.stopWake = board.onWake(() => this.check())
    this.timer = setInterval(() => this.check(), options.pollMs ?? FOLLOW_POLL_MS)
    if (!options.keepsProcessAlive) this.timer.unref()
  }

  /** Starts following after `options.after`, or after the newest event now in the log. */
  static async start(board: Board, options: FollowOptions = {}): Promise<BoardFollower> {
    if (options.after !== undefined) return new BoardFollower(board, options.after, options)
    const row = await board.db.selectFrom('events').select((eb) => eb.fn.max('id').as('last')).executeTakeFirst()
    return new BoardFollower(board, Number(row?.last ?? 0), options)
  }

  /** The id of the last event handed to listeners. */
  get position(): number {
    return this.cursor
  }

  /** Calls `listener` with every batch of new events; returns the unsubscribe. */
  onEvents(listener: (events: readonly BoardEvent[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Reads the log now (or once more after the read in progress). */
  check(): void {
    if (this.closed) return
    if (this.reading) {
      this.readAgain = true
      return
    }
    this.reading = this.readNew().finally(() => {
      this.reading = undefined
      if (this.readAgain) {
        this.readAgain = false
        this.check()
      }
    })
  }

  private async readNew(): Promise<void> {
    try {
      for (;;) {
        const { taskId } = this.options
        const events = await this.board.events({ afterId: this.cursor, limit: BATCH, ...(taskId !== undefined ? { taskId } : {}) })
        if (events.length === 0 || this.closed) break
        this.cursor = events[events.length - 1]!.id
        for (const listener of this.listeners) listener(events)
        if (events.length < BATCH) break
      }
    } catch (error) {
      // The board is unreachable for now (a server restart, a busy file): the next wake-up or poll
      // reads again from the same cursor, so nothing is skipped.
      if (!this.closed) this.options.onError?.(error)
    }
  }

  /** Stops following; waits for a read in progress. */
  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    this.stopWake()
    await this.reading
  }
}

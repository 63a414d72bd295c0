import type { SqliteConnection, SqliteStatement } from '../adapter/sqlite-connection.js'

/** How often {@link DataVersionWatch} looks, and how it slows down while nothing happens. */
export interface DataVersionWatchTiming {
  /** The interval right after another connection's commit was seen. Default 5 ms. */
  readonly fastMs: number
  /** The interval once nothing was seen for `quietAfterMs`. Default 25 ms. */
  readonly slowMs: number
  /** How long the watch stays fast after the last change it saw. Default 2,000 ms. */
  readonly quietAfterMs: number
}

/** The timing measured in `./dev bench` (W2, W4; packages/bench/README.md): p99 under 50 ms, idle CPU far under 2 %. */
export const DEFAULT_DATA_VERSION_TIMING: DataVersionWatchTiming = Object.freeze({ fastMs: 5, slowMs: 25, quietAfterMs: 2_000 })

/**
 * Tells this process when another connection (another process, or another board object on the same
 * file) committed to the board: SQLite announces no commit to other processes, but
 * `PRAGMA data_version` on a connection changes exactly when some other connection committed. While
 * anyone listens, the watch asks it on a timer, fast after a change and slower when quiet; the
 * process's own commits do not change it (they wake their listeners directly).
 *
 * It runs the PRAGMA on the board's one connection, between the event loop's turns (the driver is
 * synchronous, so never in the middle of another statement); it reads no page of the board.
 */
export class DataVersionWatch {
  readonly #connection: SqliteConnection
  readonly #onChange: () => void
  readonly #timing: DataVersionWatchTiming
  #statement: SqliteStatement | undefined
  #timer: NodeJS.Timeout | undefined
  #last: unknown
  #lastChangeAt = 0
  /** The last read failed: look again at the slow interval, warn once per spell of failures. */
  #failing = false
  #stopped = true
  /** Inside #tick (a listener may stop and start the watch from onChange). */
  #ticking = false

  constructor(connection: SqliteConnection, onChange: () => void, timing: DataVersionWatchTiming = DEFAULT_DATA_VERSION_TIMING) {
    this.#connection = connection
    this.#onChange = onChange
    this.#timing = timing
  }

  /** True while the timer runs. */
  get running(): boolean {
    return this.#timer !== undefined
  }

  /** Starts looking (a no-op while running). */
  start(): void {
    if (this.#timer !== undefined || this.#ticking) {
      this.#stopped = false
      return
    }
    this.#stopped = false
    this.#last = this.#read()
    this.#lastChangeAt = Date.now()
    this.#schedule()
  }

  /** Stops looking and finalizes its statement (a no-op when stopped). */
  stop(): void {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    try {
      this.#statement?.finalize()
    } catch {
      // The connection may be closing: its statements go with it.
    }
    this.#statement = undefined
  }

  #schedule(): void {
    const slow = this.#failing || Date.now() - this.#lastChangeAt > this.#timing.quietAfterMs
    this.#timer = setTimeout(() => this.#tick(), slow ? this.#timing.slowMs : this.#timing.fastMs)
    // An idle worker's process may still exit when nothing else keeps it alive.
    this.#timer.unref()
  }

  #tick(): void {
    this.#timer = undefined
    this.#ticking = true
    try {
      const version = this.#read()
      // After failed reads a good one that differs (or the first at all) wakes too: a wake-up too
      // many costs a claimer one empty look, a missed one costs it a whole poll interval.
      if (version !== undefined && version !== this.#last) {
        this.#last = version
        this.#lastChangeAt = Date.now()
        this.#onChange()
      }
    } finally {
      this.#ticking = false
    }
    // onChange may have stopped the watch (the last listener left), or stopped and started it again.
    if (this.#timer === undefined && !this.#stopped) this.#schedule()
  }

  #read(): unknown {
    try {
      this.#statement ??= this.#connection.prepare('PRAGMA data_version')
      const version = this.#statement.all([])[0]?.['data_version']
      this.#failing = false
      return version
    } catch (error) {
      // A transient error (EIO, a busy moment): look again at the slow interval; the board's callers
      // meet the connection's error on their own calls. Said once per spell of failures.
      if (!this.#failing) {
        process.emitWarning(`kanban-db: could not look for other processes' commits (trying again every ${this.#timing.slowMs} ms): ${error instanceof Error ? error.message : String(error)}`)
      }
      this.#failing = true
      try {
        this.#statement?.finalize()
      } catch {
        // A statement of a broken connection.
      }
      this.#statement = undefined
      return undefined
    }
  }
}

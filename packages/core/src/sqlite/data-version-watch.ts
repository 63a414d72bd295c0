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
  #failed = false

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
    if (this.#timer !== undefined || this.#failed) return
    this.#last = this.#read()
    this.#lastChangeAt = Date.now()
    this.#schedule()
  }

  /** Stops looking and finalizes its statement (a no-op when stopped). */
  stop(): void {
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
    const quiet = Date.now() - this.#lastChangeAt > this.#timing.quietAfterMs
    this.#timer = setTimeout(() => this.#tick(), quiet ? this.#timing.slowMs : this.#timing.fastMs)
    // An idle worker's process may still exit when nothing else keeps it alive.
    this.#timer.unref()
  }

  #tick(): void {
    this.#timer = undefined
    const version = this.#read()
    if (this.#failed) return
    if (version !== this.#last) {
      this.#last = version
      this.#lastChangeAt = Date.now()
      this.#onChange()
    }
    // onChange may have stopped the watch (the last listener left); a started one is already set.
    if (this.#timer === undefined && this.#statement !== undefined) this.#schedule()
  }

  #read(): unknown {
    try {
      this.#statement ??= this.#connection.prepare('PRAGMA data_version')
      return this.#statement.all([])[0]?.['data_version']
    } catch (error) {
      // A closed or broken connection: stop looking and say so once; listeners keep their own
      // timeouts (the board's callers see the connection's error on their next call).
      this.#failed = true
      this.stop()
      process.emitWarning(`kanban-db: stopped watching the board for other processes' commits: ${error instanceof Error ? error.message : String(error)}`)
      return undefined
    }
  }
}

import { AsyncLocalStorage } from 'node:async_hooks'
import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import { CompiledQuery, type Kysely } from 'kysely'
import {
  type Board, type BoardEngineFactory, KanbanDbError, openBoard, type SqliteAdapter, type SqliteBoard,
} from '@kanban-db/core'
import { type BoardEngine, type BoardSchema, classifySqliteError, WakeListeners } from '@kanban-db/core/adapter'

/**
 * The SQLite cross-process wake-up candidates the bench compares (issue 17; README "Worker
 * wake-ups"). `default` is what `openBoard` ships (core's `DataVersionWatch`, adaptive); the others
 * run the same `board.work` on a board whose engine hears other processes through the bench's own
 * source instead (see {@link openCandidateBoard}); `poll-only` hears no other process at all (the
 * worker finds their tasks by its own `pollMs` timeout: what the worker's idle slots cost by
 * themselves); `none` opens the board and runs no worker (the idle floor of a Node process holding a
 * board). The last two are measured idle only.
 */
export const WAKE_CANDIDATES = ['default', 'dv-adaptive', 'dv-5', 'dv-10', 'dv-25', 'fs-watch', 'fs-watch-recheck', 'fs-watch-dv', 'poll-only', 'none'] as const
export type WakeCandidate = (typeof WAKE_CANDIDATES)[number]

/** What each candidate is, in words (for the notes and the README). */
export const WAKE_CANDIDATE_TEXT: Readonly<Record<WakeCandidate, string>> = {
  default: "core's DataVersionWatch as openBoard ships it: PRAGMA data_version every 5 ms for 2 s after a change, else every 25 ms",
  'dv-adaptive': 'the same adaptive timing (5 / 25 ms, 2 s) run by the bench through the board\'s Kysely: checks the harness against the default',
  'dv-5': 'PRAGMA data_version every 5 ms, always',
  'dv-10': 'PRAGMA data_version every 10 ms, always',
  'dv-25': 'PRAGMA data_version every 25 ms, always',
  'fs-watch': "fs.watch (inotify) on the board's directory, filtered to the -wal file's name: opens no file of the database",
  'fs-watch-recheck': 'the same fs.watch, and again 5 ms and 25 ms after the last event (an event can come before the commit is visible)',
  'fs-watch-dv':
    'the same fs.watch as a trigger for PRAGMA data_version (at once, 5 ms and 25 ms after the last event; a wake-up only when it changed), and data_version every 250 ms as a backstop',
  'poll-only': "no cross-process source: board.work's own pollMs (1 s) timeouts alone (idle CPU only)",
  none: 'the board open, no worker: the idle floor',
}

/** Candidates whose W2 is measured (the others are idle-only). */
export const TIMED_CANDIDATES: ReadonlySet<WakeCandidate> = new Set(['default', 'dv-adaptive', 'dv-5', 'dv-10', 'dv-25', 'fs-watch', 'fs-watch-recheck', 'fs-watch-dv'])

/** Hears other processes' commits and calls `onChange`; runs only between `start` and `stop`. */
interface WakeSource {
  start(): void
  stop(): void
}

/** Figure-name prefix of each candidate in the `work-wake` contender (the default's figures have none). */
export const CANDIDATE_PREFIX: Readonly<Record<WakeCandidate, string>> = {
  default: '', 'dv-adaptive': 'dvAdaptive', 'dv-5': 'dv5', 'dv-10': 'dv10', 'dv-25': 'dv25', 'fs-watch': 'fsWatch', 'fs-watch-recheck': 'fsWatchRecheck', 'fs-watch-dv': 'fsWatchDv', 'poll-only': 'pollOnly', none: 'none',
}

/**
 * Opens the board at `path` for `candidate`. `default` and `none`: `openBoard` as users call it.
 * The others: `openBoard({ engine })` with an engine that runs every statement through a board
 * opened the ordinary way (so the write path, the hygiene policy and the statements are the real
 * ones) but announces wake-ups itself: after each of this process's own writes (as the SQLite
 * engine does) and when its candidate source sees another process's commit. The inner board's own
 * watch never starts (nobody subscribes to its onWake).
 */
export async function openCandidateBoard(candidate: WakeCandidate, path: string, adapter: SqliteAdapter): Promise<Board> {
  if (candidate === 'default' || candidate === 'none') return openBoard({ path, adapter })
  const inner = await openBoard({ path, adapter })
  const factory: BoardEngineFactory = {
    kind: 'sqlite',
    open: async () => {
      const health = await inner.health()
      return new CandidateEngine(inner, health.write, health.schemaVersion, (onChange) => sourceOf(candidate, inner, onChange))
    },
  }
  try {
    return await openBoard({ engine: factory })
  } catch (error) {
    await inner.close()
    throw error
  }
}

function sourceOf(candidate: WakeCandidate, inner: SqliteBoard, onChange: () => void): WakeSource {
  switch (candidate) {
    case 'dv-adaptive':
      return new DataVersionPoll(inner.db, onChange, { fastMs: 5, slowMs: 25, quietAfterMs: 2000 })
    case 'dv-5':
      return new DataVersionPoll(inner.db, onChange, { fastMs: 5, slowMs: 5, quietAfterMs: 0 })
    case 'dv-10':
      return new DataVersionPoll(inner.db, onChange, { fastMs: 10, slowMs: 10, quietAfterMs: 0 })
    case 'dv-25':
      return new DataVersionPoll(inner.db, onChange, { fastMs: 25, slowMs: 25, quietAfterMs: 0 })
    case 'fs-watch':
      return new WalDirectoryWatch(inner.path, onChange, [])
    case 'fs-watch-recheck':
      return new WalDirectoryWatch(inner.path, onChange, [5, 25])
    case 'fs-watch-dv': {
      const poll = new DataVersionPoll(inner.db, onChange, { fastMs: 250, slowMs: 250, quietAfterMs: 0 })
      const watch = new WalDirectoryWatch(inner.path, () => poll.checkNow(), [5, 25])
      return {
        start: () => {
          poll.start()
          watch.start()
        },
        stop: () => {
          watch.stop()
          poll.stop()
        },
      }
    }
    case 'poll-only':
      return { start: () => {}, stop: () => {} }
    default:
      throw new Error(`no bench wake source for ${candidate}`)
  }
}

/**
 * A BoardEngine over a board opened the ordinary way: every statement, transaction and error goes
 * through the inner board; only the wake-ups are the candidate's.
 */
class CandidateEngine implements BoardEngine {
  readonly kind = 'sqlite' as const
  readonly readonly = false
  readonly capabilities = Object.freeze({ concurrentWriters: false, serverClock: false, crossProcessWakeups: true })
  readonly location: string
  readonly db: Kysely<BoardSchema>
  readonly writeOptions: BoardEngine['writeOptions']
  readonly #inner: SqliteBoard
  readonly #schemaVersion: number
  readonly #transaction = new AsyncLocalStorage<Kysely<BoardSchema>>()
  readonly #listeners = new WakeListeners()
  readonly #source: WakeSource

  constructor(inner: SqliteBoard, writeOptions: BoardEngine['writeOptions'], schemaVersion: number, source: (onChange: () => void) => WakeSource) {
    this.#inner = inner
    this.location = inner.location
    this.db = inner.db
    this.writeOptions = writeOptions
    this.#schemaVersion = schemaVersion
    this.#source = source(() => this.#listeners.notify())
  }

  async writeTxn<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options?: Parameters<BoardEngine['writeTxn']>[1]): Promise<T> {
    const nested = this.#transaction.getStore() !== undefined
    const value = await this.#inner.writeTxn((trx) => this.#transaction.run(trx, () => fn(trx)), options)
    // This process's own writes wake its listeners at once, as the SQLite engine's do.
    if (!nested) this.#listeners.notify()
    return value
  }

  currentTransaction(): Kysely<BoardSchema> | undefined {
    return this.#transaction.getStore()
  }

  now(): number {
    return Date.now()
  }

  classify(error: unknown, doing: string): unknown {
    return KanbanDbError.isKanbanDbError(error) ? error : classifySqliteError(error, doing)
  }

  async schemaVersion(): Promise<number> {
    return this.#schemaVersion
  }

  health(): Promise<object> {
    return this.#inner.health()
  }

  async tryLock(): Promise<undefined> {
    throw new Error('the bench wake-up harness takes no named locks')
  }

  onWake(listener: () => void): () => void {
    const remove = this.#listeners.add(listener)
    this.#source.start()
    return () => {
      remove()
      if (this.#listeners.size === 0) this.#source.stop()
    }
  }

  async close(): Promise<void> {
    this.#source.stop()
    this.#listeners.clear()
    await this.#inner.close()
  }
}

/**
 * `PRAGMA data_version` on the board's own connection (through its Kysely, so it runs between
 * statements as a read does), on a timer: `fastMs` for `quietAfterMs` after a change, else `slowMs`.
 * The algorithm of core's DataVersionWatch, with a fixed interval when both are equal.
 */
class DataVersionPoll implements WakeSource {
  static readonly #query = CompiledQuery.raw('PRAGMA data_version')
  readonly #db: Kysely<BoardSchema>
  readonly #onChange: () => void
  readonly #timing: { readonly fastMs: number; readonly slowMs: number; readonly quietAfterMs: number }
  #timer: NodeJS.Timeout | undefined
  #running = false
  #last: unknown
  #lastChangeAt = 0

  constructor(db: Kysely<BoardSchema>, onChange: () => void, timing: DataVersionPoll['timing']) {
    this.#db = db
    this.#onChange = onChange
    this.#timing = timing
  }

  get timing(): { readonly fastMs: number; readonly slowMs: number; readonly quietAfterMs: number } {
    return this.#timing
  }

  start(): void {
    if (this.#running) return
    this.#running = true
    this.#lastChangeAt = Date.now()
    void this.#read().then((version) => {
      this.#last = version
      this.#schedule()
    })
  }

  stop(): void {
    this.#running = false
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Looks now, outside the timer (a trigger says a commit may have happened). */
  checkNow(): void {
    if (this.#running) void this.#read().then((version) => this.#seen(version))
  }

  /** Calls onChange once per new version, however many looks saw it. */
  #seen(version: unknown): void {
    if (!this.#running || version === undefined || version === this.#last) return
    this.#last = version
    this.#lastChangeAt = Date.now()
    this.#onChange()
  }

  #schedule(): void {
    if (!this.#running) return
    const quiet = Date.now() - this.#lastChangeAt > this.#timing.quietAfterMs
    this.#timer = setTimeout(() => void this.#tick(), quiet ? this.#timing.slowMs : this.#timing.fastMs)
    this.#timer.unref()
  }

  async #tick(): Promise<void> {
    this.#timer = undefined
    this.#seen(await this.#read())
    this.#schedule()
  }

  async #read(): Promise<unknown> {
    try {
      const result = await this.#db.executeQuery(DataVersionPoll.#query)
      return (result.rows[0] as { data_version?: unknown } | undefined)?.data_version
    } catch {
      return undefined
    }
  }
}

/**
 * `fs.watch` (inotify on Linux) on the board's DIRECTORY, calling `onChange` for events that name the
 * board's `-wal` file: a commit appends frames to the WAL (IN_MODIFY), so every commit of any process,
 * this one's too, is an event. It opens no file of the database: inotify watches the directory by
 * path, no descriptor of the board, its WAL or its shared memory is opened (the house rule against
 * opening a live SQLite file or its sidecars with fs is about descriptors: closing one drops the
 * process's POSIX locks on that file).
 */
class WalDirectoryWatch implements WakeSource {
  readonly #directory: string
  readonly #wal: string
  readonly #onChange: () => void
  readonly #rechecksMs: readonly number[]
  readonly #rechecks: NodeJS.Timeout[] = []
  #watcher: FSWatcher | undefined

  /**
   * `rechecksMs`: also call `onChange` this long after the latest event (each restarted by every
   * event). SQLite writes a commit's frames to the WAL (the events) before it syncs them and before
   * it publishes the commit in the WAL index, so a claim made on the first event can still see
   * nothing: a later look catches the commit without waiting for the worker's poll.
   */
  constructor(path: string, onChange: () => void, rechecksMs: readonly number[]) {
    this.#directory = dirname(path)
    this.#wal = `${basename(path)}-wal`
    this.#onChange = onChange
    this.#rechecksMs = rechecksMs
  }

  start(): void {
    if (this.#watcher) return
    this.#watcher = watch(this.#directory, { persistent: false }, (_event, name) => {
      if (name !== this.#wal) return
      this.#onChange()
      for (const timer of this.#rechecks.splice(0)) clearTimeout(timer)
      for (const ms of this.#rechecksMs) this.#rechecks.push(setTimeout(() => this.#onChange(), ms).unref())
    })
    this.#watcher.on('error', () => this.stop())
  }

  stop(): void {
    for (const timer of this.#rechecks.splice(0)) clearTimeout(timer)
    this.#watcher?.close()
    this.#watcher = undefined
  }
}

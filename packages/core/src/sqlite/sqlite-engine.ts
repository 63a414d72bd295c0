import type { Kysely } from 'kysely'
import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { BoardEngine, EngineCapabilities, NamedLock } from '../engine/board-engine.js'
import { WakeListeners } from '../engine/wake-listeners.js'
import { DataVersionWatch, type DataVersionWatchTiming } from './data-version-watch.js'
import { classifySqliteError } from '../errors/classify.js'
import { InvalidInput, LockTimeout } from '../errors/errors.js'
import type { CheckpointMode, CheckpointResult } from '../hygiene/connection-health.js'
import type { HygieneHealth, HygienicConnection } from '../hygiene/open-connection.js'
import type { BoardSchema } from '../schema/board-schema.js'
import { readSchemaVersion } from '../schema/migrations.js'
import type { WriteOptions, WriteQueue, WriteTxnOptions } from '../write/write-transaction.js'

/** What {@link SqliteEngine} is built from (by `openBoard`, after the open policy). */
export interface SqliteEngineParts {
  readonly path: string
  readonly readonly: boolean
  readonly adapter: SqliteAdapter
  readonly hygienic: HygienicConnection
  readonly db: Kysely<BoardSchema>
  readonly writes: WriteQueue<BoardSchema>
  /** How often other processes' commits are looked for while someone listens. Default `DEFAULT_DATA_VERSION_TIMING`. */
  readonly wakeTiming?: DataVersionWatchTiming
}

/**
 * The SQLite engine: one hygienic connection per board and process, the write path of
 * `src/write` (BEGIN IMMEDIATE, lock polling, group commit, WAL upkeep), SQLite's error codes, and
 * lock files beside the board that the kernel releases when their holder dies. Wake-ups: this
 * process's writes wake its listeners at once; other processes' commits are seen by a
 * {@link DataVersionWatch} (`PRAGMA data_version` on a timer) while anyone listens, where the adapter
 * shares the file with other processes.
 */
export class SqliteEngine implements BoardEngine {
  readonly kind = 'sqlite'
  readonly location: string
  readonly readonly: boolean
  readonly capabilities: EngineCapabilities
  readonly db: Kysely<BoardSchema>
  readonly #adapter: SqliteAdapter
  readonly #hygienic: HygienicConnection
  readonly #writes: WriteQueue<BoardSchema>
  readonly #wakeListeners = new WakeListeners()
  /** Other connections' commits, watched while listeners exist (undefined: the file is not shared). */
  readonly #watch: DataVersionWatch | undefined

  constructor(parts: SqliteEngineParts) {
    this.location = parts.path
    this.readonly = parts.readonly
    this.db = parts.db
    this.#adapter = parts.adapter
    this.#hygienic = parts.hygienic
    this.#writes = parts.writes
    const shared = parts.adapter.capabilities.sharedFile
    this.capabilities = Object.freeze({ concurrentWriters: false, serverClock: false, crossProcessWakeups: shared })
    this.#watch = shared ? new DataVersionWatch(parts.hygienic.connection, () => this.#wake(), parts.wakeTiming) : undefined
  }

  get writeOptions(): Required<WriteOptions> {
    return this.#writes.options
  }

  async writeTxn<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options?: WriteTxnOptions): Promise<T> {
    const nested = this.#writes.currentTransaction() !== undefined
    const value = await this.#writes.run(fn, options)
    if (!nested) this.#wake()
    return value
  }

  currentTransaction(): Kysely<BoardSchema> | undefined {
    return this.#writes.currentTransaction()
  }

  now(): number {
    return Date.now()
  }

  classify(error: unknown, doing: string): unknown {
    return classifySqliteError(error, doing)
  }

  async schemaVersion(): Promise<number> {
    return readSchemaVersion(this.#hygienic.connection)
  }

  async health(): Promise<HygieneHealth & { readonly path: string }> {
    return { ...this.#hygienic.health(), path: this.location }
  }

  async tryLock(name: string): Promise<NamedLock | undefined> {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) {
      throw new InvalidInput(`Invalid lock name ${JSON.stringify(name)}: expected lowercase letters, digits and dashes (it names the file <board>.${'<name>'}-lock).`)
    }
    try {
      const lock = await this.#adapter.acquireLock(`${this.location}.${name}-lock`, { timeoutMs: 0 })
      return { release: async () => lock.release() }
    } catch (error) {
      if (error instanceof LockTimeout) return undefined
      throw error
    }
  }

  onWake(listener: () => void): () => void {
    const remove = this.#wakeListeners.add(listener)
    this.#watch?.start()
    return () => {
      remove()
      if (this.#wakeListeners.size === 0) this.#watch?.stop()
    }
  }

  /** Copies the live board through the driver's online backup (see `HygienicConnection.backupTo`). */
  backupTo(destinationPath: string): Promise<void> {
    return this.#hygienic.backupTo(destinationPath)
  }

  /** Throws `GhostFile` / `LocksLost` (see `HygienicConnection.checkGhost`). */
  checkGhost(): void {
    this.#hygienic.checkGhost()
  }

  /** A `PRAGMA wal_checkpoint(mode)` with the board's connection held outside any write. */
  checkpoint(mode: CheckpointMode): Promise<CheckpointResult> {
    if (this.#writes.currentTransaction() !== undefined) {
      return Promise.reject(new InvalidInput('checkpoint() cannot run inside writeTxn: a checkpoint needs the connection outside a transaction. Call it after the write.'))
    }
    // Holding the board's connection (as a read does) keeps it outside any write transaction.
    return this.db.connection().execute(async () => {
      try {
        return this.#hygienic.checkpoint(mode)
      } catch (error) {
        throw classifySqliteError(error, `running a ${mode} checkpoint`)
      }
    })
  }

  async close(): Promise<void> {
    this.#watch?.stop()
    this.#wakeListeners.clear()
    await this.#writes.close()
    try {
      await this.db.destroy()
    } finally {
      this.#hygienic.close()
    }
  }

  /** Tells this process's idle claimers that a write committed (it may have made a task ready). */
  #wake(): void {
    this.#wakeListeners.notify()
  }
}

import { type Kysely, sql } from 'kysely'
import { BoardClosed, InvalidInput } from '@kanban-db/core'
import {
  resolveWriteOptions, type BoardEngine, type BoardSchema, type EngineCapabilities, type NamedLock,
  type WakeListeners, type WriteOptions, type WriteTxnOptions,
} from '@kanban-db/core/adapter'
import { classifyPostgresError } from './classify.js'
import { SCHEMA_VERSION_TABLE } from './schema/migrate.js'
import type { WritePath } from './write/write-path.js'

/** What differs between the server engine and the PGlite engine; the rest is {@link PostgresBoardEngine}. */
export interface EngineParts {
  readonly location: string
  readonly schema: string
  readonly readonly: boolean
  readonly capabilities: EngineCapabilities
  /** Reads outside write transactions. */
  readonly db: Kysely<BoardSchema>
  readonly writeOptions: Required<WriteOptions>
  readonly writes: WritePath
  readonly wakeListeners: WakeListeners
  /** Starts hearing wake-ups (called at every `onWake`; must be idempotent and not throw). */
  startWakeups(): void
  tryLock(name: string): Promise<NamedLock | undefined>
  /** Engine facts beyond `engine`, `schema` and `location`. */
  health(): Promise<Record<string, unknown>>
  /** Runs after every write has finished: stop listening, release locks, close connections. */
  shutdown(): Promise<void>
}

/**
 * A board's PostgreSQL engine (`kind: 'postgres'`), on a server or on PGlite: the common behaviour
 * of `BoardEngine` over {@link EngineParts}. Made by `postgres(config).open()` or
 * `pglite(config).open()`.
 */
export class PostgresBoardEngine implements BoardEngine {
  readonly kind = 'postgres' as const
  readonly location: string
  readonly readonly: boolean
  readonly capabilities: EngineCapabilities
  readonly db: Kysely<BoardSchema>
  readonly writeOptions: Required<WriteOptions>
  readonly #parts: EngineParts
  #closing: Promise<void> | undefined

  constructor(parts: EngineParts) {
    this.#parts = parts
    this.location = parts.location
    this.readonly = parts.readonly
    this.capabilities = parts.capabilities
    this.db = parts.db
    this.writeOptions = parts.writeOptions
  }

  writeTxn<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options?: WriteTxnOptions): Promise<T> {
    return this.#parts.writes.run(fn, options)
  }

  currentTransaction(): Kysely<BoardSchema> | undefined {
    return this.#parts.writes.currentTransaction()
  }

  /** The server's clock in ms since the epoch (`clock_timestamp()`, which moves within a transaction). */
  async now(db: Kysely<BoardSchema>): Promise<number> {
    const { rows } = await sql<{ now: number }>`SELECT (extract(epoch from clock_timestamp()) * 1000)::int8 AS now`.execute(db)
    return Number(rows[0]!.now)
  }

  classify(error: unknown, doing: string): unknown {
    return classifyPostgresError(error, doing)
  }

  async schemaVersion(): Promise<number> {
    const { rows } = await sql<{ version: number | null }>`SELECT max(version) AS version FROM ${sql.table(`${this.#parts.schema}.${SCHEMA_VERSION_TABLE}`)}`.execute(this.db)
    return Number(rows[0]?.version ?? 0)
  }

  async health(): Promise<Readonly<Record<string, unknown>>> {
    return { engine: 'postgres', schema: this.#parts.schema, location: this.location, ...(await this.#parts.health()) }
  }

  async tryLock(name: string): Promise<NamedLock | undefined> {
    // The SQLite engine's rule (a lock is a file name there), so a name works on every engine.
    if (typeof name !== 'string' || !/^[a-z][a-z0-9-]{0,62}$/.test(name)) {
      throw new InvalidInput(`Invalid lock name ${JSON.stringify(name)}: expected lowercase letters, digits and dashes, starting with a letter.`, { details: { field: 'name' } })
    }
    if (this.#closing) throw new BoardClosed('The board is closed; open it again to take a lock.')
    return this.#parts.tryLock(name)
  }

  onWake(listener: () => void): () => void {
    const unsubscribe = this.#parts.wakeListeners.add(listener)
    if (!this.#closing) this.#parts.startWakeups()
    return unsubscribe
  }

  /** Refuses new writes, waits for the running ones (and rollbacks of timed-out ones), then closes everything. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#parts.writes.close()
      this.#parts.wakeListeners.clear()
      await this.#parts.shutdown()
    })()
    return this.#closing
  }
}

/**
 * The write options as this engine honours them: the retry budget and the transaction timeout. The
 * SQLite-only knobs are reported switched off (no group commit: `maxBatchSize` 1; no lock polling,
 * stepping aside or WAL upkeep), since a server has none of those problems to solve.
 */
export function postgresWriteOptions(write: WriteOptions | undefined): Required<WriteOptions> {
  const resolved = resolveWriteOptions(write)
  return Object.freeze({
    ...resolved,
    maxBatchSize: 1,
    yieldAfterCommits: 0,
    yieldMs: 0,
    lockPolling: false,
    walCeiling: 0,
    checkpointEvery: 0,
  })
}

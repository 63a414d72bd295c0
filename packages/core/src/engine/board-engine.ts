import type { Kysely } from 'kysely'
import type { BoardSchema } from '../schema/board-schema.js'
import type { WriteOptions, WriteTxnOptions } from '../write/write-transaction.js'

/**
 * The seam between the board's semantics and the database that stores it.
 *
 * Everything in `src/board/` (operations, transitions, failure accounting, validation) is written
 * once, in Kysely, against {@link BoardEngine}; an engine owns what differs between databases: its
 * Kysely dialect, how a write transaction starts, waits, retries and commits, its migrations, its
 * clock, its cross-process locks, how its errors map to kanban-db's named errors, and its health.
 *
 * Two engines ship: SQLite (`openBoard({ path, adapter })`, with the connection-hygiene policy,
 * lock polling and WAL upkeep of `src/hygiene`, `src/write`, `src/corruption`) and PostgreSQL
 * (`@kanban-db/adapter-postgres`: a server through node-postgres, or PGlite in-process).
 */
export interface BoardEngine {
  /** Which engine: the board's SQL dialect family and its failure modes. */
  readonly kind: EngineKind
  /** Where the board lives, for messages and `health()`: a file path, or server and schema (never a password). */
  readonly location: string
  /** True when opened read-only: every write fails with `ReadOnlyBoard`. */
  readonly readonly: boolean
  /** What this engine guarantees beyond the contract's minimum. */
  readonly capabilities: EngineCapabilities
  /**
   * Typed Kysely for reads outside any write transaction. Reads through it never see a write of
   * this process half done.
   */
  readonly db: Kysely<BoardSchema>
  /** The write options in force (the SQLite write path's; an engine reports what it honours). */
  readonly writeOptions: Required<WriteOptions>

  /**
   * Runs `fn` in one write transaction with a Kysely bound to it, and commits. Any error rolls back
   * and reaches the caller classified (`classify`). A call made while the calling code already runs
   * inside a write of this engine joins it as a savepoint. Conflicts the engine resolves by running
   * the transaction again (SQLite's busy lock, Postgres's serialization failures and deadlocks) are
   * retried inside, never surfaced: `fn` must therefore be safe to run more than once (board
   * operations are: they only touch the database).
   */
  writeTxn<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options?: WriteTxnOptions): Promise<T>
  /** The Kysely of the write transaction the calling code runs inside, if any. */
  currentTransaction(): Kysely<BoardSchema> | undefined
  /**
   * Milliseconds since the epoch by the engine's clock: this process's for SQLite, the server's for
   * Postgres (so a worker whose clock is wrong can neither steal a live lease nor shorten its own).
   * Inside a write, pass its `trx`.
   */
  now(db: Kysely<BoardSchema>): number | Promise<number>
  /** The engine's error (or anything else) as kanban-db's named error, saying what was being done. */
  classify(error: unknown, doing: string): unknown
  /** The board's schema version. */
  schemaVersion(): Promise<number>
  /** Engine facts merged into `board.health()`. */
  health(): Promise<object>
  /**
   * Takes the named cross-process lock without waiting, or resolves undefined when another holder
   * has it. The lock is released by `release()` or when the holder's process (or, on a server, its
   * session) dies: never a file or row a crash leaves behind.
   */
  tryLock(name: string): Promise<NamedLock | undefined>
  /**
   * Calls `listener` when the board may have work for a claimer: a task became ready in this
   * process, or (where `capabilities.crossProcessWakeups`) in another. Returns the unsubscribe. A
   * due time passing announces nothing: idle claimers also wait with a timeout.
   */
  onWake(listener: () => void): () => void
  /** Waits for the running write, then closes. Twice is a no-op. */
  close(): Promise<void>
}

/** The engines kanban-db knows. */
export type EngineKind = 'sqlite' | 'postgres'

/** What an engine guarantees beyond the contract's minimum. */
export interface EngineCapabilities {
  /**
   * Writers of different processes run at the same time, and board operations lock the rows they
   * decide about (`SELECT ... FOR UPDATE`, claims with `SKIP LOCKED`). False where a write
   * transaction excludes every other writer (SQLite).
   */
  readonly concurrentWriters: boolean
  /** `now()` reads the database server's clock. */
  readonly serverClock: boolean
  /**
   * `onWake` hears about ready tasks made by other processes (Postgres LISTEN/NOTIFY; SQLite a
   * `PRAGMA data_version` watch where the driver shares the file between processes).
   */
  readonly crossProcessWakeups: boolean
}

/** A held named lock. */
export interface NamedLock {
  /** Releases the lock. Twice is a no-op. */
  release(): Promise<void>
}

/** How a board asks an engine to open. */
export interface EngineOpenOptions {
  /** Open without writing: the board must exist and be current. */
  readonly readonly: boolean
  /** The write options the caller gave (`BoardOptions.write`). */
  readonly write?: WriteOptions
}

/**
 * What an engine package hands to `openBoard({ engine })`: how to open one board. For example
 * `postgres({ connectionString })` from `@kanban-db/adapter-postgres`.
 */
export interface BoardEngineFactory {
  readonly kind: EngineKind
  /** Opens the board (creating and migrating it when needed and not read-only). */
  open(options: EngineOpenOptions): Promise<BoardEngine>
}

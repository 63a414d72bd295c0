import type { Capabilities } from './capabilities.js'
import type { SqliteConnection } from './sqlite-connection.js'
import type { DecodedSqliteError } from '../errors/sqlite-codes.js'

/** Who an adapter is: enough to tell two SQLite copies apart and to label a conformance report. */
export interface AdapterIdentity {
  /** Short adapter name, for example `better-sqlite3`. */
  readonly name: string
  /** The npm package of the adapter, which a child process passes to `loadAdapter`. */
  readonly moduleName: string
  /** The driver package (or built-in module) it wraps, for example `node:sqlite`. */
  readonly driver: string
  /** The driver's version. */
  readonly driverVersion: string
  /** `sqlite_version()` of the SQLite library the driver runs. */
  readonly sqliteVersion: string
  /**
   * Identifies the SQLite *copy* (the compiled library in memory), not just its version. Two
   * adapters whose connections would not share SQLite's per-inode lock table must report different
   * values: closing a connection of one copy drops the POSIX locks the other copy holds on the same
   * file (hazard H1). Any string; the bundled adapters use `<driver>:<where the library is loaded
   * from>` (`better-sqlite3:<package folder>`, `node:sqlite:<node executable>@<node version>`,
   * `sql.js:<package folder>`). Equal values for two copies let H1 through; different values for one
   * copy make core refuse a legitimate second open (`MixedSqliteCopies`).
   */
  readonly sqliteCopy: string
}

/** Options for {@link SqliteAdapter.open}. */
export interface OpenOptions {
  /** Open read-only; never create the file. Default false. */
  readonly readonly?: boolean
  /** Create the file when it does not exist. Default true (ignored when `readonly`). */
  readonly create?: boolean
}

/** A cross-process lock held until `release()` or the holder's death. */
export interface ProcessLock {
  /** Releases the lock. Releasing twice is a no-op. */
  release(): void
}

/** Options for {@link SqliteAdapter.acquireLock}. */
export interface AcquireLockOptions {
  /** Give up after this many milliseconds. */
  readonly timeoutMs: number
  /**
   * The permission bits the lock file gets (for example the board file's, so a 0600 board never has a
   * 0644 lock file beside it). Default: for a lock named `<board>.<name>-lock`, the board file's mode
   * when it exists; otherwise what the driver creates.
   */
  readonly mode?: number
}

/**
 * The contract between core and one SQLite driver. An adapter is a thin structural wrapper of its
 * driver plus three hooks the hygiene policy calls, and a declaration of what its engine can do.
 *
 * Each adapter package's default export is a factory `() => Promise<SqliteAdapter>` so a child
 * process or worker thread can load it by module name alone; its `package.json` needs an `exports`
 * map (`.` with the ESM entry, and `./package.json`), or the conformance suite cannot load it by
 * name, from the adapter's own folder least of all.
 *
 * What `@kanban-db/conformance` checks beyond the types:
 * - `open` runs no statement, and the driver's own busy timeout is 0 (core sets `busy_timeout`).
 * - `SqliteConnection.close` frees the descriptors, the POSIX locks and (last connection) the
 *   sidecars before it returns, never later by garbage collection; twice is a no-op.
 * - A statement that threw can run again: reset it after an error (core caches statements).
 * - `SqliteStatement.reader` is true for every statement with result columns, `RETURNING` included,
 *   and `all` runs such a statement to the end; `run` is only called on the others.
 * - Driver errors reach core unchanged; {@link SqliteAdapter.decodeError} reads SQLite's code out of
 *   them (without it, core's generic reading of SQLite's conventions applies, see there).
 * - `probeJournalMode` and `setPragma` can be `sqlPragmaHooks` (plain `PRAGMA` statements).
 */
export interface SqliteAdapter {
  readonly identity: AdapterIdentity
  readonly capabilities: Capabilities
  /**
   * Conformance case ids this adapter is known to fail, each with the reason. The suite reports
   * them as `xfail`; one that passes is reported as `xpass` and fails the run, so the list cannot
   * go stale.
   */
  readonly knownFailures?: Readonly<Record<string, string>>
  /**
   * Opens `path` (an absolute file path, or `:memory:`). Must not run any statement on the file:
   * core applies the open policy (journal mode, pragmas) itself through the hooks below.
   */
  open(path: string, options?: OpenOptions): Promise<SqliteConnection>
  /** Reads `PRAGMA journal_mode` without changing it (the WAL probe). Lower-case result. */
  probeJournalMode(connection: SqliteConnection): string
  /**
   * Sets `PRAGMA name = value` and returns what SQLite reads back afterwards, as a string
   * (`PRAGMA synchronous` reads back `2` for FULL). Core compares and raises on mismatch.
   */
  setPragma(connection: SqliteConnection, name: string, value: string | number): string
  /**
   * Takes an exclusive lock named by `lockPath` that other processes of any adapter respect and that
   * the kernel releases when the holder dies (never a pid file or directory a crash leaves behind).
   * Rejects with a `LockTimeout` error after `timeoutMs`. Where the adapter declares no
   * `crossProcessLock`, the lock only excludes other callers in this process.
   */
  acquireLock(lockPath: string, options: AcquireLockOptions): Promise<ProcessLock>
  /**
   * Reads SQLite's result code out of an error this adapter's driver threw, in the driver's own shape
   * (undefined for any other error, which may be another driver's). Core asks every opened or loaded
   * adapter's decoder first and classifies the error by the code it returns (`Busy`, `Corrupt`,
   * `TransientIO`, ...); extended names (`SQLITE_IOERR_SHORT_READ`) are kept as `sqliteCode`. The
   * helpers `sqliteCodeName(number)` and `sqliteCodeFromMessage(message)` do the naming. Each bundled
   * adapter has one.
   *
   * Optional. An adapter without it gets core's generic reading of SQLite's conventions, in this
   * order: a `code` that is SQLite's name (`SQLITE_BUSY`, extended names welcome), a numeric
   * `errcode` (primary or extended), then SQLite's standard messages (`database is locked`), which
   * give primary codes only; an error matching none of them is not a SQLite error to core and
   * reaches the caller unnamed.
   */
  decodeError?(error: unknown): DecodedSqliteError | undefined
}

/** What each adapter package exports as its default. */
export type AdapterFactory = () => Promise<SqliteAdapter>

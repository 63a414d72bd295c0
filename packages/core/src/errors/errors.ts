/**
 * The error taxonomy. Every error a user of kanban-db can meet is one of these classes: a stable
 * literal `code` to branch on, a message that says what happened and what to do, `details` typed per
 * code, and the original driver error kept as `cause` (with its `sqliteCode`, for example
 * `SQLITE_IOERR_SHORT_READ`, or its PostgreSQL `sqlState`).
 *
 * `KanbanDbError.isKanbanDbError(e)` narrows to {@link AnyKanbanDbError}, a union discriminated by
 * `code`, so a `switch (e.code)` can be exhaustive and each branch sees its class's `details`.
 */

import type { ErrorDetailsByCode } from './error-details.js'
import type { RateLimited, WorkAborted } from './work-errors.js'

export type { BoardPlace, ErrorDetailsByCode, ImportFailureReason, OpenDetails, TaskOperationDetails } from './error-details.js'

const BRAND = Symbol.for('kanban-db.error')

/** Every code a kanban-db error can carry, in one list (for exhaustive tables and tests). */
export const KANBAN_DB_ERROR_CODES = [
  'BOARD_NOT_FOUND', 'TASK_NOT_FOUND', 'INVALID_TRANSITION', 'CLAIM_MISMATCH', 'DEPENDENCY_CYCLE',
  'INVALID_INPUT', 'BUSY', 'TRANSIENT_IO', 'DISK_FULL', 'CORRUPT', 'NOT_A_DATABASE',
  'UNSUPPORTED_FILESYSTEM', 'LOCK_TIMEOUT', 'MIXED_SQLITE_COPIES', 'GHOST_FILE', 'LOCKS_LOST',
  'PRAGMA_MISMATCH', 'TRANSACTION_TIMEOUT', 'BOARD_CLOSED', 'READ_ONLY_BOARD', 'NOT_SUPPORTED',
  'BOARD_IN_USE', 'SQLITE_FAILURE', 'CONNECTION_LOST', 'STATEMENT_TIMEOUT', 'POSTGRES_FAILURE',
  'SCHEMA_MISMATCH', 'STALE_SIDECAR', 'IMPORT_FAILED', 'FOREIGN_DATABASE', 'BOARD_OPEN_ELSEWHERE',
  'RATE_LIMITED', 'WORK_ABORTED', 'UNSUPPORTED_RUNTIME',
] as const

/** The stable code of a kanban-db error: a union of string literals, one per error class. */
export type KanbanDbErrorCode = (typeof KANBAN_DB_ERROR_CODES)[number]

/** The `details` of the error with that code. */
export type KanbanDbErrorDetails<Code extends KanbanDbErrorCode = KanbanDbErrorCode> = ErrorDetailsByCode[Code]

/** Options every kanban-db error takes. */
export interface KanbanDbErrorOptions<Details = Readonly<Record<string, unknown>>> {
  /** The error that caused this one, usually the driver's error. */
  readonly cause?: unknown
  /** SQLite's result code name, when known (`SQLITE_BUSY`, `SQLITE_IOERR_FSYNC`, ...). */
  readonly sqliteCode?: string
  /** PostgreSQL's SQLSTATE, when the error came from a Postgres engine (`40001`, `57P01`, ...). */
  readonly sqlState?: string
  /** Facts for logs, tests and programs (path, task id, ...), typed per code. */
  readonly details?: Details
}

/**
 * The base class. Check `error.code` (stable) rather than the message (for people). The engine's
 * own view of the failure stays reachable whatever the code: `sqliteCode` or `sqlState`, and the
 * driver's error as `cause`.
 */
export abstract class KanbanDbError<Code extends KanbanDbErrorCode = KanbanDbErrorCode> extends Error {
  abstract readonly code: Code
  /** SQLite's result code name when the error came from SQLite. */
  readonly sqliteCode: string | undefined
  /** PostgreSQL's SQLSTATE when the error came from a Postgres engine. */
  readonly sqlState: string | undefined
  /** Facts for logs, tests and programs; which ones depends on `code` ({@link ErrorDetailsByCode}). */
  readonly details: ErrorDetailsByCode[Code]

  constructor(message: string, options: KanbanDbErrorOptions<ErrorDetailsByCode[Code]> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.sqliteCode = options.sqliteCode
    this.sqlState = options.sqlState
    this.details = options.details ?? ({} as ErrorDetailsByCode[Code])
    Object.defineProperty(this, BRAND, { value: true })
  }

  /**
   * True for kanban-db errors, even from another copy of this package in the same process. Narrows
   * to {@link AnyKanbanDbError}, so `switch (error.code)` can be exhaustive.
   */
  static isKanbanDbError(value: unknown): value is AnyKanbanDbError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true
  }
}

/** The board file does not exist and the caller asked not to create it (read-only open). */
export class BoardNotFound extends KanbanDbError<'BOARD_NOT_FOUND'> {
  readonly code = 'BOARD_NOT_FOUND'
}
/** No task has that id. */
export class TaskNotFound extends KanbanDbError<'TASK_NOT_FOUND'> {
  readonly code = 'TASK_NOT_FOUND'
}
/** The task's status does not allow that operation. The task is unchanged. */
export class InvalidTransition extends KanbanDbError<'INVALID_TRANSITION'> {
  readonly code = 'INVALID_TRANSITION'
}
/** The claim token (or attempt) is stale or belongs to another worker. The task is unchanged. */
export class ClaimMismatch extends KanbanDbError<'CLAIM_MISMATCH'> {
  readonly code = 'CLAIM_MISMATCH'
}
/** Adding that dependency would make a cycle. Nothing was written. */
export class DependencyCycle extends KanbanDbError<'DEPENDENCY_CYCLE'> {
  readonly code = 'DEPENDENCY_CYCLE'
}
/** An argument failed validation at the boundary. Nothing was written. */
export class InvalidInput extends KanbanDbError<'INVALID_INPUT'> {
  readonly code = 'INVALID_INPUT'
}
/** Another writer held the database lock for longer than the retry budget allows. Retry later. */
export class Busy extends KanbanDbError<'BUSY'> {
  readonly code = 'BUSY'
}
/**
 * A transient I/O error (`SQLITE_IOERR*`). The transaction was rolled back; the file was not
 * changed by kanban-db's reaction to it (no journal-mode fallback). Retry; if it persists, check
 * the disk and the kernel log.
 */
export class TransientIO extends KanbanDbError<'TRANSIENT_IO'> {
  readonly code = 'TRANSIENT_IO'
}
/** The disk is full (`SQLITE_FULL`). Nothing acknowledged was lost. Free space, then retry. */
export class DiskFull extends KanbanDbError<'DISK_FULL'> {
  readonly code = 'DISK_FULL'
}
/** SQLite reports the database as malformed. The file is left untouched for recovery. */
export class Corrupt extends KanbanDbError<'CORRUPT'> {
  readonly code = 'CORRUPT'
}
/** The file exists but is not a SQLite database (`SQLITE_NOTADB`). It is never initialised. */
export class NotADatabase extends KanbanDbError<'NOT_A_DATABASE'> {
  readonly code = 'NOT_A_DATABASE'
}
/** The board's filesystem cannot give WAL what it needs (shared memory, POSIX locks on one host). */
export class UnsupportedFilesystem extends KanbanDbError<'UNSUPPORTED_FILESYSTEM'> {
  readonly code = 'UNSUPPORTED_FILESYSTEM'
}
/** A cross-process lock could not be taken in time. */
export class LockTimeout extends KanbanDbError<'LOCK_TIMEOUT'> {
  readonly code = 'LOCK_TIMEOUT'
}
/**
 * This process already holds a connection to the same file through a different SQLite copy
 * (hazard H1): closing either would drop the other's locks and can lose data.
 */
export class MixedSqliteCopies extends KanbanDbError<'MIXED_SQLITE_COPIES'> {
  readonly code = 'MIXED_SQLITE_COPIES'
}
/** The board file was deleted, moved or replaced under an open connection (hazard H3). */
export class GhostFile extends KanbanDbError<'GHOST_FILE'> {
  readonly code = 'GHOST_FILE'
}
/** This process's POSIX locks on the board were dropped while its connection lives (H1/H2). */
export class LocksLost extends KanbanDbError<'LOCKS_LOST'> {
  readonly code = 'LOCKS_LOST'
}
/** A pragma did not read back as the policy set it. */
export class PragmaMismatch extends KanbanDbError<'PRAGMA_MISMATCH'> {
  readonly code = 'PRAGMA_MISMATCH'
}
/** A write transaction's callback did not finish within the allowed time; it was rolled back. */
export class TransactionTimeout extends KanbanDbError<'TRANSACTION_TIMEOUT'> {
  readonly code = 'TRANSACTION_TIMEOUT'
}
/** The board (or connection) is closed. Open it again. */
export class BoardClosed extends KanbanDbError<'BOARD_CLOSED'> {
  readonly code = 'BOARD_CLOSED'
}
/** The board was opened read-only and a write was attempted. */
export class ReadOnlyBoard extends KanbanDbError<'READ_ONLY_BOARD'> {
  readonly code = 'READ_ONLY_BOARD'
}
/** The adapter lacks a capability the operation needs. */
export class NotSupported extends KanbanDbError<'NOT_SUPPORTED'> {
  readonly code = 'NOT_SUPPORTED'
}
/**
 * The board is already open in this process through an adapter that keeps a private image of the
 * file (sql.js, `sharedFile: false`): a second board on it would write its image back over the
 * first's acknowledged writes. Close the first board, or use an adapter with a shared file.
 */
export class BoardInUse extends KanbanDbError<'BOARD_IN_USE'> {
  readonly code = 'BOARD_IN_USE'
}
/** A SQLite error that fits no other class (a constraint, a bug). Its `cause` says more. */
export class SqliteFailure extends KanbanDbError<'SQLITE_FAILURE'> {
  readonly code = 'SQLITE_FAILURE'
}

/**
 * The connection to the database server was lost (the server restarted, the backend was terminated,
 * the network failed). A write that was in flight was rolled back by the server unless the error
 * says its COMMIT was sent: then it may or may not have been applied, and the board's claim tokens
 * tell which (a retried complete with the same token is refused once the first one landed).
 */
export class ConnectionLost extends KanbanDbError<'CONNECTION_LOST'> {
  readonly code = 'CONNECTION_LOST'
}

/** A statement ran past the server's `statement_timeout` and was cancelled; nothing of it was applied. */
export class StatementTimeout extends KanbanDbError<'STATEMENT_TIMEOUT'> {
  readonly code = 'STATEMENT_TIMEOUT'
}

/** A Postgres error that fits no other class (a constraint, a bug, a permission). Its `cause` says more. */
export class PostgresFailure extends KanbanDbError<'POSTGRES_FAILURE'> {
  readonly code = 'POSTGRES_FAILURE'
}

/**
 * The board file's schema version (`PRAGMA user_version`) is not the one this code runs: newer than
 * it knows (upgrade kanban-db), or older on a read-only open (open it once writable to migrate).
 */
export class SchemaMismatch extends KanbanDbError<'SCHEMA_MISMATCH'> {
  readonly code = 'SCHEMA_MISMATCH'
}

/**
 * A `-wal` left by a damaged (quarantined) board lies beside the file that replaced it. Opening the
 * new file would replay the old file's pages onto it, so the board stays closed until the stale
 * `-wal` and `-shm` are removed (with no process holding the old file open).
 */
export class StaleSidecar extends KanbanDbError<'STALE_SIDECAR'> {
  readonly code = 'STALE_SIDECAR'
}

/**
 * Importing another board (`importPythonBoard`) was refused or could not finish. `details.reason`
 * says why: `not-a-python-board` (the file lacks the Python board's tables), `source-busy` (a
 * process holds the source open, or its -wal or hot journal holds data not yet in the file),
 * `source-changed` (the source was written while it was read), `same-file` (source and target are
 * one file), `unreadable` (SQLite could not read it; see `cause`), `no-reader` (this Node has no
 * `node:sqlite`). The source is never changed; what was imported before the error stays, and a
 * second import resumes without duplicating anything.
 */
export class ImportFailed extends KanbanDbError<'IMPORT_FAILED'> {
  readonly code = 'IMPORT_FAILED'
}

/**
 * The file at the board's path is a SQLite database, but not a kanban-db board (its tables are not
 * the board's, or it has tables and no schema version): another program's database, for example the
 * Python agent gateway's board. The open was refused before anything was written: the file's bytes
 * and its journal mode are as they were. Open the board at another path, or move that file aside.
 */
export class ForeignDatabase extends KanbanDbError<'FOREIGN_DATABASE'> {
  readonly code = 'FOREIGN_DATABASE'
}

/**
 * Another process has the board file open through an adapter that keeps a private in-memory image
 * of it (sql.js, `sharedFile: false`): each process would write its own image back at close and one
 * side's acknowledged writes would be lost. Seen through a cross-process lock the kernel releases
 * when its holder dies. Close the board in the other process first, or share the board between
 * processes through an adapter with a shared file (better-sqlite3, node:sqlite).
 */
export class BoardOpenElsewhere extends KanbanDbError<'BOARD_OPEN_ELSEWHERE'> {
  readonly code = 'BOARD_OPEN_ELSEWHERE'
}

/**
 * Every kanban-db error, as a union discriminated by `code`. `KanbanDbError.isKanbanDbError(e)`
 * narrows to it, so a `switch (e.code)` with a `never` default is checked for exhaustiveness and
 * each branch sees its own class's `details`.
 */
export type AnyKanbanDbError =
  | BoardNotFound | TaskNotFound | InvalidTransition | ClaimMismatch | DependencyCycle | InvalidInput
  | Busy | TransientIO | DiskFull | Corrupt | NotADatabase | UnsupportedFilesystem | LockTimeout
  | MixedSqliteCopies | GhostFile | LocksLost | PragmaMismatch | TransactionTimeout | BoardClosed
  | ReadOnlyBoard | NotSupported | BoardInUse | SqliteFailure | ConnectionLost | StatementTimeout
  | PostgresFailure | SchemaMismatch | StaleSidecar | ImportFailed | ForeignDatabase | BoardOpenElsewhere
  | RateLimited | WorkAborted | UnsupportedRuntime

/**
 * This Node.js cannot run the adapter's driver: for example better-sqlite3 13 on Node 20 dies with a
 * segmentation fault, and Node 20 has no `node:sqlite`. Raised by the adapter before the driver is
 * loaded; `details` names the Node version found (`node`) and the range needed (`needs`). Run on a
 * Node the adapter supports (Node 24 LTS is recommended).
 */
export class UnsupportedRuntime extends KanbanDbError<'UNSUPPORTED_RUNTIME'> {
  readonly code = 'UNSUPPORTED_RUNTIME'
}

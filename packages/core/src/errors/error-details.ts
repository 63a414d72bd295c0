/**
 * What each error's `details` carries, by code. The named facts are the ones kanban-db sets; each is
 * optional because not every place that raises a code knows every fact. An engine may add its own
 * facts beside them (the index signature), and the engine's own code stays on the error as
 * `sqliteCode` or `sqlState`, with the driver's error as `cause`.
 */

/** Facts an engine or adapter may add beside the named ones. */
export interface OpenDetails {
  readonly [fact: string]: unknown
}

/** Where a board lives: a SQLite file's path, or a Postgres board's location. */
export interface BoardPlace extends OpenDetails {
  /** The SQLite board file. */
  readonly path?: string
  /** The board's location as the engine names it (a path, or `postgres://.../schema`). */
  readonly location?: string
}

/** A refused board operation on one task. */
export interface TaskOperationDetails extends OpenDetails {
  readonly taskId?: string
  /** The operation (`claim`, `complete`, `reclaim`, ...). */
  readonly action?: string
  /** The task's status when the operation was refused (null: the task does not exist yet). */
  readonly from?: string | null
  /** The status the operation would have set. */
  readonly to?: string
  /** The statuses the operation applies to. */
  readonly allowedFrom?: readonly string[]
  /** The worker holding the task's claim. */
  readonly claimedBy?: string | null
  /** The board rule that refused it (`requireReview`). */
  readonly rule?: string
}

/** Why an import was refused or stopped ({@link ErrorDetailsByCode.IMPORT_FAILED}). */
export type ImportFailureReason = 'not-a-python-board' | 'source-busy' | 'source-changed' | 'same-file' | 'unreadable' | 'no-reader'

/** Why a running task's `signal` aborted: the claim was lost, the task ran too long, or the worker stopped. */
export type WorkAbortKind = 'claim-lost' | 'timeout' | 'shutdown'

/** The `details` type of each error code. */
export interface ErrorDetailsByCode {
  BOARD_NOT_FOUND: BoardPlace
  TASK_NOT_FOUND: OpenDetails & { readonly taskId?: string }
  INVALID_TRANSITION: TaskOperationDetails & {
    /** Dependencies the task is waiting for. */
    readonly waitingFor?: readonly string[]
    /** When a scheduled task becomes claimable (ms since the epoch). */
    readonly dueAt?: number
    /** When a backed-off task becomes claimable again (ms since the epoch). */
    readonly notBefore?: number
  }
  CLAIM_MISMATCH: TaskOperationDetails & {
    readonly status?: string
    /** True when the token belonged to an earlier run of the task. */
    readonly stale?: boolean
    readonly reviewerId?: string | null
  }
  DEPENDENCY_CYCLE: OpenDetails & { readonly taskId?: string; readonly dependsOnId?: string }
  INVALID_INPUT: OpenDetails & {
    /** The argument or option that failed validation. */
    readonly field?: string
    /** The value given. */
    readonly value?: unknown
  }
  BUSY: BoardPlace & { readonly attempts?: number; readonly budgetMs?: number; readonly lockPath?: string }
  TRANSIENT_IO: BoardPlace
  DISK_FULL: BoardPlace
  CORRUPT: BoardPlace & {
    /** What the integrity check reported. */
    readonly problems?: readonly string[]
    /** Where the damaged file was preserved, when it was. */
    readonly copyPath?: string
  }
  NOT_A_DATABASE: BoardPlace
  UNSUPPORTED_FILESYSTEM: BoardPlace & { readonly dir?: string; readonly filesystem?: string; readonly journalMode?: string }
  LOCK_TIMEOUT: OpenDetails & { readonly lockPath?: string; readonly timeoutMs?: number }
  MIXED_SQLITE_COPIES: BoardPlace & { readonly heldBy?: string; readonly heldCopy?: string; readonly refused?: string; readonly refusedCopy?: string }
  GHOST_FILE: BoardPlace & { readonly file?: string; readonly sidecars?: readonly string[] }
  LOCKS_LOST: BoardPlace & {
    readonly pid?: number
    /** The locks this process should hold and does not. */
    readonly missing?: readonly string[]
  }
  PRAGMA_MISMATCH: OpenDetails & { readonly pragma?: string; readonly expected?: unknown; readonly actual?: unknown }
  TRANSACTION_TIMEOUT: OpenDetails & { readonly timeoutMs?: number }
  BOARD_CLOSED: BoardPlace
  READ_ONLY_BOARD: BoardPlace
  NOT_SUPPORTED: OpenDetails & { readonly adapter?: string; readonly call?: string }
  BOARD_IN_USE: BoardPlace
  SQLITE_FAILURE: BoardPlace
  CONNECTION_LOST: OpenDetails & {
    /** True when the COMMIT was sent before the connection dropped: the write may or may not have landed. */
    readonly commitSent?: boolean
  }
  STATEMENT_TIMEOUT: OpenDetails
  POSTGRES_FAILURE: OpenDetails & { readonly constraint?: string; readonly table?: string }
  SCHEMA_MISMATCH: BoardPlace & { readonly version?: number; readonly latest?: number }
  STALE_SIDECAR: BoardPlace
  IMPORT_FAILED: OpenDetails & { readonly reason?: ImportFailureReason; readonly source?: string }
  FOREIGN_DATABASE: BoardPlace & { readonly userVersion?: number; readonly tables?: readonly string[] }
  BOARD_OPEN_ELSEWHERE: BoardPlace & { readonly lockPath?: string }
  RATE_LIMITED: OpenDetails
  WORK_ABORTED: OpenDetails & { readonly kind?: WorkAbortKind; readonly taskId?: string; readonly workerId?: string }
  UNSUPPORTED_RUNTIME: OpenDetails & {
    /** The Node.js version found (`process.versions.node`). */
    readonly node: string
    /** The Node.js range the adapter's driver needs. */
    readonly needs: string
    /** The adapter that refused. */
    readonly adapter: string
  }
}

import type { Kysely } from 'kysely'
import type { HygieneHealth } from '../hygiene/open-connection.js'
import type { BoardSchema } from '../schema/board-schema.js'
import type { WriteOptions, WriteTxnOptions } from '../write/write-transaction.js'
import type { TaskStatus } from './transitions.js'
import type {
  BoardEvent, ClaimedTask, ClaimOptions, CommentInput, CrashDetectionOptions, CreateTaskInput, EventQuery, JsonValue, ReleasedClaim,
  Task, TaskComment, TaskFilter,
} from './types.js'

/**
 * One open kanban board: what a dispatcher, its workers and a dashboard do to one shared SQLite
 * file. Every write goes through {@link Board.writeTxn} (one BEGIN IMMEDIATE transaction each, in
 * FIFO order within the process); every state change writes exactly one event in the same
 * transaction. Errors are the named classes of `errors.ts`; a refused call changes nothing.
 *
 * Called inside a `writeTxn` callback, the operations join that transaction (each as a SAVEPOINT),
 * so several of them commit or roll back together.
 */
export interface Board {
  /** The board file. */
  readonly path: string
  /** True when opened read-only: every write fails with `ReadOnlyBoard`. */
  readonly readonly: boolean
  /**
   * Typed Kysely for reads (`board.db.selectFrom('tasks')...`). Its queries wait while a write
   * transaction of this board is open. Write through `writeTxn`, never through `db`; inside a
   * `writeTxn` callback use the callback's `trx`.
   */
  readonly db: Kysely<BoardSchema>

  /** Creates one task: todo while a dependency is not done, else ready. */
  createTask(input: CreateTaskInput): Promise<Task>
  /** Creates many tasks in ONE transaction (one commit, one fsync), in order. All or nothing. */
  createTasks(inputs: readonly CreateTaskInput[]): Promise<Task[]>
  /** The task, or undefined when no task has that id. */
  getTask(taskId: string): Promise<Task | undefined>
  /** Tasks matching `filter`, oldest first. */
  listTasks(filter?: TaskFilter): Promise<Task[]>
  /**
   * Makes `taskId` wait until `dependsOnId` is done. `DependencyCycle` when that would close a
   * cycle; a ready task goes back to todo when `dependsOnId` is not done.
   */
  addDependency(taskId: string, dependsOnId: string): Promise<Task>

  /**
   * Atomically claims the highest-priority, oldest ready task (one statement in a BEGIN IMMEDIATE
   * transaction): no two claimers, in any number of processes, get the same task. Opens a run and
   * returns the task with its `claimToken`, or undefined when nothing is ready.
   */
  claimNext(options: ClaimOptions): Promise<ClaimedTask | undefined>
  /** Extends the lease (by `leaseMs`, default the claim's lease). `ClaimMismatch` for a stale or foreign token. */
  heartbeat(taskId: string, claimToken: string, options?: { readonly leaseMs?: number }): Promise<Task>
  /**
   * Marks the task done with `result` (JSON, up to 1 MiB) and, in the same transaction, moves every
   * dependent whose dependencies are now all done to ready.
   */
  complete(taskId: string, claimToken: string, result?: JsonValue): Promise<Task>
  /**
   * Ends the claim as failed: back to ready while attempts remain (unless `retry: false`), else
   * failed. `error` is a message or an Error (its message is kept).
   */
  fail(taskId: string, claimToken: string, error: string | Error, options?: { readonly retry?: boolean }): Promise<Task>
  /**
   * Parks a todo, ready or running task as blocked. A running task's claim ends; pass its
   * `claimToken` when the worker itself blocks, so a stale worker cannot block a newer attempt.
   */
  block(taskId: string, reason: string, options?: { readonly claimToken?: string }): Promise<Task>
  /** Takes a blocked task back to ready (or todo while a dependency is not done). */
  unblock(taskId: string): Promise<Task>
  /** Puts a task away for good (from any status but archived). A running claim ends. */
  archive(taskId: string): Promise<Task>

  /** Adds a comment to a task (any status), with one `commented` event. */
  addComment(taskId: string, comment: CommentInput): Promise<TaskComment>
  /** The task's comments, oldest first. */
  comments(taskId: string): Promise<TaskComment[]>

  /** Running tasks whose lease expired by `now` go back to ready (or failed past max attempts). */
  releaseStaleClaims(now?: number): Promise<ReleasedClaim[]>
  /**
   * Running tasks of this host whose worker pid is gone (`isAlive` false) go back to ready (or
   * failed), except claims younger than `graceMs` (default `KANBAN_DB_CRASH_GRACE_MS`, else 30 s).
   */
  detectCrashedWorkers(options: CrashDetectionOptions): Promise<ReleasedClaim[]>
  /** The event log after `afterId`, oldest first, for notifiers and dashboards. */
  events(query?: EventQuery): Promise<BoardEvent[]>

  /**
   * The one way to write: runs `fn` in a BEGIN IMMEDIATE transaction with a Kysely bound to it and
   * commits; any error rolls back and reaches the caller as thrown (SQLite's classified), with
   * `rollbackError` attached when the ROLLBACK itself failed. Busy beyond the retry budget is
   * `Busy`; a callback running past the transaction timeout (the board's, or `options.timeoutMs`)
   * is `TransactionTimeout`.
   */
  writeTxn<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options?: WriteTxnOptions): Promise<T>

  /** Hygiene facts (journal mode, WAL size, ...) with board facts. */
  health(): Promise<BoardHealth>
  /** Copies the live board to `destinationPath` through the driver's online backup. */
  backupTo(destinationPath: string): Promise<void>
  /** Throws `GhostFile` when the file was deleted, moved or replaced under this board. */
  checkGhost(): void
  /** Waits for the running write, then closes. Later calls fail with `BoardClosed`. Twice is a no-op. */
  close(): Promise<void>
}

/** What `board.health()` reports: the hygiene facts and the board's own. */
export type BoardHealth = HygieneHealth & {
  readonly path: string
  readonly readonly: boolean
  /** `PRAGMA user_version`. */
  readonly schemaVersion: number
  /** How many tasks are in each status. */
  readonly tasks: Readonly<Record<TaskStatus, number>>
  /** The write options in force. */
  readonly write: Required<WriteOptions>
}

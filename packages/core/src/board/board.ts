import type { Kysely } from 'kysely'
import type { EngineKind } from '../engine/board-engine.js'
import type { BoardSchema } from '../schema/board-schema.js'
import type { WriteOptions, WriteTxnOptions } from '../write/write-transaction.js'
import type { TaskStatus } from './transitions.js'
import type { ClockSkew } from './clock-guard.js'
import type { TaskWorker } from '../worker/task-worker.js'
import type { TaskHandler, WorkOptions } from '../worker/work-options.js'
import type {
  Attachment, AttachmentInput, BlockOptions, BoardEvent, ClaimedTask, ClaimOptions, ClaimTaskOptions, CommentInput, CompleteOptions, CrashDetectionOptions,
  CreateTaskInput, DeletedTask, EventBatch, EventQuery, FailOptions, JsonObject, JsonValue, OverrunningClaim, PrunedEvents, PruneEventsOptions, ReclaimOptions,
  ReleasedClaim, ReleaseOptions, ReviewRequest, StaleClaimOptions, SubscribeOptions, TakeEventsOptions, Task, TaskComment, TaskFilter, TaskRun,
} from './types.js'

/** What `completeAndClaimNext` returns. */
export interface CompletedAndClaimed {
  readonly completed: Task
  /** The next task claimed in the same commit, or undefined when nothing was ready. */
  readonly next: ClaimedTask | undefined
}

/**
 * One open kanban board: what a dispatcher, its workers and a dashboard do to one shared board, on
 * any engine (a SQLite file, a PostgreSQL server or PGlite). Every write goes through
 * {@link Board.writeTxn} (one transaction each); every state change writes exactly one event in the
 * same transaction. Errors are the named classes of `errors.ts`; a refused call changes nothing.
 *
 * Called inside a `writeTxn` callback, the operations join that transaction (each as a SAVEPOINT),
 * so several of them commit or roll back together.
 *
 * A SQLite board is a {@link SqliteBoard}: the same operations plus its file's (`backupTo`,
 * `checkpoint`, `checkGhost`).
 */
export interface Board<Health extends BoardHealth = BoardHealth> {
  /** The engine that stores the board. */
  readonly engine: EngineKind
  /** Where the board lives: its file path, or its server, database and schema (never a password). */
  readonly location: string
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
  /**
   * Tasks matching `filter`, oldest first: by `createdAt`, then id. Tasks one thread created in the
   * same millisecond (a `createTasks` batch) list in the order it created them, unless the caller
   * chose their ids (`input.id`), which sort as written.
   */
  listTasks(filter?: TaskFilter): Promise<Task[]>
  /**
   * Makes `taskId` wait until `dependsOnId` is done. `DependencyCycle` when that would close a
   * cycle; a ready task goes back to todo when `dependsOnId` is not done.
   */
  addDependency(taskId: string, dependsOnId: string): Promise<Task>

  /**
   * Atomically claims the highest-priority, oldest ready task (one statement in a write transaction;
   * on Postgres with `FOR UPDATE SKIP LOCKED`): no two claimers, in any number of processes or
   * hosts, get the same task. Opens a run and
   * returns the task with its `claimToken`, or undefined when nothing is ready.
   */
  claimNext(options: ClaimOptions): Promise<ClaimedTask | undefined>
  /**
   * Claims the task `taskId` that the caller picked itself (a dispatcher with its own choice), with
   * `claimNext`'s semantics: a ready task whose backoff has passed becomes running with a claim
   * token, lease, run and `claimed` event (a scheduled task whose due time has come is made due
   * first). On Postgres the row is locked, so of two claimers of one task the second is refused.
   * Not claimable: `InvalidTransition` saying why (running, waiting for dependencies, scheduled,
   * backing off, ...); unknown: `TaskNotFound`. The assignee and tenant are not checked: the
   * caller chose.
   */
  claim(taskId: string, options: ClaimTaskOptions): Promise<ClaimedTask>
  /** Extends the lease (by `leaseMs`, default the claim's lease). `ClaimMismatch` for a stale or foreign token. */
  heartbeat(taskId: string, claimToken: string, options?: { readonly leaseMs?: number }): Promise<Task>
  /**
   * Marks the task done with `result` (JSON, up to 1 MiB) and, in the same transaction, moves every
   * dependent whose dependencies are now all done to ready.
   */
  complete(taskId: string, claimToken: string, result?: JsonValue, options?: CompleteOptions): Promise<Task>
  /**
   * `complete`, then `claimNext(claim)`, in ONE transaction (one commit): a worker finishing a task
   * and taking its next one never leaves a gap another claimer could see, and pays one fsync.
   */
  completeAndClaimNext(taskId: string, claimToken: string, result: JsonValue | undefined, claim: ClaimOptions): Promise<CompletedAndClaimed>
  /**
   * Runs `handler` on this board's tasks until stopped: the worker loop, owned by the library. It
   * claims (filters and lease from `options`), heartbeats each running task on the priority lane,
   * stores what the handler returns with `complete` (chaining the next claim into the same commit
   * while work is ready), and on a throw `fail`s the task with the error, retried after an
   * exponential backoff with jitter that every claimer respects (a `RateLimited` requeues after a
   * cooldown, counting nothing). The task's `signal` aborts when its claim is lost, when it runs past
   * `maxRuntimeMs`, or when `stop()`'s deadline passes. While idle the worker wakes when a task
   * becomes ready: at once for this process's writes, and from other processes where the engine
   * announces them (`crossProcessWakeups`), else within `pollMs`.
   *
   * ```ts
   * const worker = board.work({ concurrency: 4 }, async (task, { signal }) => summarize(task.body, { signal }))
   * for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void worker.stop())
   * await worker.stopped
   * ```
   *
   * Closing the board stops its workers first (their running tasks are released at once). On a
   * board that requires review (`requireReview`), a handler's result goes to `requestReview`.
   */
  work<Meta extends object = JsonObject, Result = JsonValue | void>(
    options: WorkOptions,
    handler: TaskHandler<Meta, Result>,
  ): TaskWorker
  /**
   * Ends the claim as failed. `error` is a message or an Error (its message is kept). Each failure
   * (kind `error`, `spawn`, `timeout`) counts one consecutive failure: back to ready while retries
   * and attempts remain; past `maxRetries` (the task's, else the board's, default 2) blocked with a
   * `gave-up` event; when every attempt is used, or with `retry: false`, failed. `rateLimited`
   * requeues to ready counting nothing.
   */
  fail(taskId: string, claimToken: string, error: string | Error, options?: FailOptions): Promise<Task>
  /**
   * Hands a running task back unfinished (a worker shutting down, or giving work it cannot do now
   * to another): ready again at once (or after `retryAfterMs`), counting neither a failure nor an
   * attempt; the run ends as `released` with `reason`, in one `released` event. `ClaimMismatch`
   * for a stale or foreign token.
   */
  release(taskId: string, claimToken: string, options?: ReleaseOptions): Promise<Task>
  /**
   * Parks a todo, ready or running task as blocked. A running task's claim ends; pass its
   * `claimToken` when the worker itself blocks, so a stale worker cannot block a newer attempt.
   * With `kind`: the same kind twice in a row sends the task to triage (a block loop); kind
   * `dependency` adds `dependsOn` and sends it back to todo (ready when no dependency is open).
   */
  block(taskId: string, reason: string, options?: BlockOptions): Promise<Task>
  /** Takes a blocked task back to ready (or todo while a dependency is not done). */
  unblock(taskId: string): Promise<Task>

  /**
   * Operators: gives a task that is not running to `assignee` (null: any claimer). The status stays;
   * the consecutive failure count starts again. One `reassigned` event.
   */
  reassign(taskId: string, assignee: string | null, options?: { readonly reason?: string }): Promise<Task>
  /**
   * Operators: takes a live claim back by hand with `reason`. A running task is ready again
   * (counting neither a failure nor an attempt; not before `retryAfterMs`); a reviewer's claim ends
   * and the task waits in review. The run ends as `reclaimed` and its token is refused from then on
   * (`ClaimMismatch`). One `reclaimed` event.
   */
  reclaim(taskId: string, reason: string, options?: ReclaimOptions): Promise<Task>
  /**
   * Operators: removes the dependency of `taskId` on `dependsOnId`; a todo task whose dependencies
   * are then all done becomes ready in the same transaction. One `dependency_removed` event; an edge
   * that does not exist changes nothing.
   */
  removeDependency(taskId: string, dependsOnId: string): Promise<Task>
  /**
   * Operators: deletes a task with its runs, events, comments, attachments and dependency edges.
   * Refused under a live claim (reclaim it first). Each dependent gets a `dependency_removed` event
   * and becomes ready when the task was its last open dependency.
   */
  deleteTask(taskId: string): Promise<DeletedTask>
  /**
   * Operators: deletes events older than `olderThanMs` and beyond the newest `keepLatest`, never one
   * after the lowest subscriber cursor (no subscriber misses an event it has not acknowledged).
   */
  pruneEvents(options: PruneEventsOptions): Promise<PrunedEvents>
  /**
   * The task's runs (one per claim), oldest attempt first: what each attempt handed in (summary,
   * result, metadata) and how it ended (outcome, error), so a new attempt can read what earlier ones did.
   */
  runs(taskId: string): Promise<TaskRun[]>
  /** Puts a task away for good (from any status but archived). A running claim ends. */
  archive(taskId: string): Promise<Task>
  /** Takes a task out of triage: ready, or todo while a dependency is not done. */
  accept(taskId: string): Promise<Task>
  /** Makes a triage, todo, ready or blocked task `scheduled`: not claimable before `dueAt`. */
  schedule(taskId: string, dueAt: number): Promise<Task>
  /** Moves scheduled tasks that are due to ready (or todo); `claimNext` does this itself. Returns their ids. */
  promoteScheduled(now?: number): Promise<string[]>

  /**
   * The running attempt asks for review (its claim ends; the task waits in `review` with `summary`
   * and `result`). Reviewers claim it with `claimNext({ role: 'review' })`, never the worker that
   * did the work.
   */
  requestReview(taskId: string, claimToken: string, request?: ReviewRequest): Promise<Task>
  /** The reviewer holding `reviewToken` approves: done, dependents released in the same transaction. */
  approve(taskId: string, reviewToken: string, options?: { readonly comment?: string }): Promise<Task>
  /**
   * The reviewer rejects with `reasons`: back to ready for a fix; at the board's
   * `maxReviewRejections` rejections in a row (default 3), to triage for a person.
   */
  reject(taskId: string, reviewToken: string, reasons: string): Promise<Task>

  /** Adds a comment to a task (any status), with one `commented` event. */
  addComment(taskId: string, comment: CommentInput): Promise<TaskComment>
  /** The task's comments, oldest first. */
  comments(taskId: string): Promise<TaskComment[]>
  /** Records a file's metadata on a task (the bytes stay at `uri`), with one `attachment-added` event. */
  addAttachment(taskId: string, attachment: AttachmentInput): Promise<Attachment>
  /** The task's attachments, oldest first. */
  attachments(taskId: string): Promise<Attachment[]>

  /**
   * Running tasks whose lease expired by `now` go back to ready (or failed past max attempts); an
   * expiry is not counted as a failure. Reviewer claims that expired end; their tasks stay in review.
   * With `options.isAlive`, an expired claim of this host whose worker is alive and heartbeated
   * recently is extended by its lease instead (an `extended` event), never stolen.
   *
   * `now` defaults to the board's clock. Where that clock is this process's (SQLite, or a `clock`
   * option) and it reads more than a minute past the latest time the board has recorded, a claim
   * whose expiry no other writer has recorded a time past is taken back only by a later call on
   * this open board, a whole lease later, if it showed no sign of life meanwhile: a clock running
   * ahead cannot steal live leases (`health().clockSkew` reports it). An explicit `now` is taken as
   * given.
   */
  releaseStaleClaims(now?: number, options?: StaleClaimOptions): Promise<ReleasedClaim[]>
  /**
   * Running tasks past their `maxRuntimeMs` (a read): terminate each worker, then `fail` the task
   * with kind `timeout` (it counts a failure).
   */
  overrunningClaims(now?: number): Promise<OverrunningClaim[]>
  /**
   * Running tasks of this host whose worker pid is gone (`isAlive` false) go back to ready (or
   * failed), except claims younger than `graceMs` (default `KANBAN_DB_CRASH_GRACE_MS`, else 30 s).
   */
  detectCrashedWorkers(options: CrashDetectionOptions): Promise<ReleasedClaim[]>
  /** The event log after `afterId`, oldest first, for notifiers and dashboards. */
  events(query?: EventQuery): Promise<BoardEvent[]>
  /**
   * Creates the notification subscription `subscriber` if it does not exist (cursor at the first
   * event, or with `from: 'now'` after the newest) and returns its cursor. `taskId` and `kinds`
   * scope it: only that task's events, only those kinds (its cursor still moves past the rest). An
   * existing subscription asked for with another scope is `InvalidInput`.
   */
  subscribe(subscriber: string, options?: SubscribeOptions): Promise<number>
  /** Removes the subscription with its cursor (a notifier's batch in flight is dropped). True when it existed. */
  unsubscribe(subscriber: string): Promise<boolean>
  /**
   * Leases the events after the subscriber's cursor to this notifier; undefined when another
   * notifier of the subscriber holds a batch or nothing is new. Deliver them, then `ackEvents`.
   */
  takeEvents(subscriber: string, options: TakeEventsOptions): Promise<EventBatch | undefined>
  /** Moves the subscriber's cursor past the batch; `ClaimMismatch` when its lease was lost. Returns the cursor. */
  ackEvents(subscriber: string, leaseToken: string): Promise<number>

  /**
   * The one way to write: runs `fn` in a write transaction (SQLite: BEGIN IMMEDIATE; Postgres: READ
   * COMMITTED, retried on serialization failures and deadlocks) with a Kysely bound to it and
   * commits; any error rolls back and reaches the caller as thrown (the engine's classified), with
   * `rollbackError` attached when the ROLLBACK itself failed. Busy beyond the retry budget is
   * `Busy`; a callback running past the transaction timeout (the board's, or `options.timeoutMs`)
   * is `TransactionTimeout`. On Postgres a serialization failure or deadlock runs `fn` again in a
   * new transaction: keep `fn` to database work (no side effects outside it that must happen once).
   */
  writeTxn<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options?: WriteTxnOptions): Promise<T>

  /** The board's facts (schema version, tasks per status) with the engine's. */
  health(): Promise<Health>
  /**
   * Calls `listener` when a task may have become ready: after a write of this process, and on
   * engines with `crossProcessWakeups` after another process's (Postgres: LISTEN/NOTIFY; SQLite:
   * `PRAGMA data_version` looked at every 5-25 ms while someone listens). Returns
   * the unsubscribe. An idle claimer waits for it instead of polling, with a timeout as well: a
   * scheduled task whose due time passes, or a lease that expires, announces nothing (`claimNext`
   * promotes due tasks itself; a dispatcher reclaims expired leases).
   */
  onWake(listener: () => void): () => void
  /** Waits for the running write, then closes. Later calls fail with `BoardClosed`. Twice is a no-op. */
  close(): Promise<void>
}

/** What `board.health()` reports on every engine; each engine adds its own facts. */
export interface BoardHealth {
  readonly engine: EngineKind
  readonly location: string
  readonly readonly: boolean
  /** The board's schema version (`PRAGMA user_version` on SQLite, the version table on Postgres). */
  readonly schemaVersion: number
  /** How many tasks are in each status. */
  readonly tasks: Readonly<Record<TaskStatus, number>>
  /** The write options in force. */
  readonly write: Required<WriteOptions>
  /**
   * Non-null when this board's clock reads more than a minute past the latest time the board has
   * recorded and some claims have expired by this clock only: this process's clock may run ahead
   * (or the board has been quiet that long). `releaseStaleClaims` then takes those claims back only
   * after one more lease without a sign of life. Always null on a server's clock (Postgres without a
   * `clock` option), which every client shares.
   */
  readonly clockSkew: ClockSkew | null
}

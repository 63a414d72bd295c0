import type { TaskStatus } from './transitions.js'

/** A value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue }

/** One task as the board returns it. The claim token is never part of it (see {@link ClaimedTask}). */
export interface Task {
  readonly id: string
  readonly title: string
  readonly body: string
  readonly status: TaskStatus
  /** Higher is claimed first; ties go to the oldest task, then the smallest id. */
  readonly priority: number
  /** The worker profile that may claim it; null means any claimer. */
  readonly assignee: string | null
  readonly createdBy: string | null
  readonly idempotencyKey: string | null
  /** Caller-specific fields. */
  readonly meta: JsonObject
  /** Milliseconds since the epoch, like every time on the board. */
  readonly createdAt: number
  readonly updatedAt: number
  readonly startedAt: number | null
  readonly completedAt: number | null
  /** Worker id of the current claim (running tasks only). */
  readonly claimedBy: string | null
  readonly workerPid: number | null
  readonly workerHost: string | null
  readonly claimedAt: number | null
  readonly claimExpiresAt: number | null
  readonly heartbeatAt: number | null
  /** The open run of the current claim, or the last run. */
  readonly currentRunId: string | null
  /** Claims so far. */
  readonly attempts: number
  readonly maxAttempts: number
  /** What `complete` stored. */
  readonly result: JsonValue | null
  /** The error of the last failed, expired or crashed attempt. */
  readonly lastError: string | null
  readonly blockReason: string | null
  /** Counted failures (errors, spawn failures, crashes, timeouts) since the last success. */
  readonly consecutiveFailures: number
  /** Retries after consecutive failures before the task gives up; null: the board's `maxRetries`. */
  readonly maxRetries: number | null
  /** Kind of the last block (kept after unblock, to detect a block loop). */
  readonly blockKind: string | null
  /** Blocks in a row of `blockKind`. */
  readonly blockRecurrences: number
  /** When a scheduled task becomes claimable. */
  readonly dueAt: number | null
  /**
   * A ready task is not claimed before this time: the backoff of a retry or the cooldown of a rate
   * limit (`fail`'s `retryAfterMs`). Cleared by the next claim.
   */
  readonly notBefore: number | null
  readonly tenant: string | null
  /** A running attempt longer than this is reported by `overrunningClaims`. */
  readonly maxRuntimeMs: number | null
  /** Worker id of the attempt that asked for review (it may not review its own work). */
  readonly reviewRequestedBy: string | null
  /** What the worker said when it asked for review. */
  readonly reviewSummary: string | null
  /** Rejections since the last approval. */
  readonly reviewRejections: number
}

/** A task just claimed: the claim token proves the claim to `heartbeat`, `complete` and `fail`. */
export type ClaimedTask = Task & {
  readonly claimToken: string
  readonly runId: string
}

/** What `createTask` takes. Only `title` is required. */
export interface CreateTaskInput {
  /** Your own id (1-64 characters of `A-Za-z0-9_.:-`), for batches whose tasks depend on each other. Default: a new time-sortable id. */
  readonly id?: string
  /** 1-500 characters. */
  readonly title: string
  /** Up to 100,000 characters. Default empty. */
  readonly body?: string
  /** A safe integer; higher is claimed first. Default 0. */
  readonly priority?: number
  /** Only `claimNext({ assignee })` with this value claims the task. Default: any claimer. */
  readonly assignee?: string | null
  readonly createdBy?: string | null
  /** A repeated create with the same key returns the existing task and writes nothing. */
  readonly idempotencyKey?: string | null
  /** A JSON object (up to 64 KiB as JSON). */
  readonly meta?: JsonObject
  /** How many claims the task gets before a failure makes it `failed`. 1-1000, default 3. */
  readonly maxAttempts?: number
  /** Ids of tasks that must be done first (existing, or earlier in the same `createTasks` batch). */
  readonly dependsOn?: readonly string[]
  /** Retries after consecutive failures before the task gives up (blocked, `gave-up`). 0-1000; default the board's. */
  readonly maxRetries?: number
  /** Start in `triage` (a person accepts it with `accept`). Default false. */
  readonly triage?: boolean
  /** Not claimable before this time (ms since the epoch): the task is `scheduled` while it is ahead. */
  readonly dueAt?: number
  /** The tenant the task belongs to (up to 200 characters). Default none. */
  readonly tenant?: string | null
  /** An attempt running longer is reported by `overrunningClaims` (1 ms to 7 days). Default none. */
  readonly maxRuntimeMs?: number
}

/** What `listTasks` takes. */
export interface TaskFilter {
  readonly status?: TaskStatus | readonly TaskStatus[]
  readonly assignee?: string
  readonly tenant?: string
  /** Default 100, at most 10,000. */
  readonly limit?: number
  readonly offset?: number
}

/** What `claimNext` takes. */
export interface ClaimOptions {
  /** Who claims (1-200 characters). */
  readonly workerId: string
  /** The worker's process id, for `detectCrashedWorkers`. Default `process.pid` (the claimer runs the work itself). */
  readonly pid?: number
  /** The worker's host name (1-255 characters). Default `os.hostname()`. */
  readonly host?: string
  /** Lease length in ms; the claim expires unless heartbeated. 1 ms to 7 days. */
  readonly leaseMs: number
  /**
   * A string claims only tasks with exactly this assignee; `null` only tasks with no assignee;
   * left out, any ready task (a dispatcher that spawns the right profile itself).
   */
  readonly assignee?: string | null
  /**
   * `work` (default) claims ready tasks; `review` claims tasks waiting in `review` whose work was
   * not done by `workerId`, for `approve` or `reject`.
   */
  readonly role?: ClaimRole
  /** Only tasks of this tenant. Default: any tenant. */
  readonly tenant?: string
}

/** Who claims: a worker (`work`) or a reviewer (`review`). */
export type ClaimRole = 'work' | 'review'

/** The kinds of events the board writes. */
export type EventKind =
  | 'created'
  | 'dependency_added'
  | 'promoted'
  | 'claimed'
  | 'completed'
  | 'failed'
  | 'retried'
  | 'expired'
  | 'crashed'
  | 'blocked'
  | 'unblocked'
  | 'archived'
  | 'commented'
  | 'gave-up'
  | 'requeued'
  | 'accepted'
  | 'scheduled'
  | 'due'
  | 'review-requested'
  | 'review-claimed'
  | 'review-released'
  | 'approved'
  | 'rejected'
  | 'attachment-added'
  | 'extended'
  | 'released'
  | 'reassigned'
  | 'reclaimed'
  | 'dependency_removed'

/** One row of the event log. */
export interface BoardEvent {
  /** Increasing, never reused: pass the last one you saw as `afterId`. */
  readonly id: number
  readonly taskId: string
  readonly runId: string | null
  readonly kind: EventKind
  readonly fromStatus: TaskStatus | null
  readonly toStatus: TaskStatus | null
  readonly payload: JsonValue | null
  readonly createdAt: number
}

/** What `events` takes. */
export interface EventQuery {
  /** Only events with a larger id. Default 0 (from the start). */
  readonly afterId?: number
  /** Default 100, at most 10,000. */
  readonly limit?: number
  /** Only events of this task. */
  readonly taskId?: string
}

/** How a run (one attempt) ended. */
export type RunOutcome =
  | 'completed'
  | 'failed'
  | 'expired'
  | 'crashed'
  | 'blocked'
  | 'archived'
  | 'spawn-failed'
  | 'timed-out'
  | 'rate-limited'
  | 'review-requested'
  | 'approved'
  | 'rejected'
  | 'released'
  | 'reclaimed'

/** Why an attempt failed: each counts one consecutive failure. */
export type AttemptFailureKind = 'error' | 'spawn' | 'timeout'

/** What `fail` takes. */
export interface FailOptions {
  /** False fails the task at once (no retry). Default true. */
  readonly retry?: boolean
  /** Default `error`. Spawn failures and timeouts count like errors; the run's outcome names them. */
  readonly kind?: AttemptFailureKind
  /**
   * The worker was rate limited: the task goes back to ready without counting a failure or an
   * attempt. Default false.
   */
  readonly rateLimited?: boolean
  /**
   * When the task goes back to ready (a retry, or a rate-limited requeue), it is not claimed before
   * this many ms from now, by any claimer in any process (stored as the task's `notBefore`). 0 to 7
   * days. Default 0: claimable at once.
   */
  readonly retryAfterMs?: number
  /** What the attempt did, kept on its run for later attempts (up to 100,000 characters). */
  readonly summary?: string
  /** The attempt's own facts (a JSON object up to 64 KiB), kept on its run. */
  readonly metadata?: JsonObject
}

/** What `complete` takes besides the result: notes kept on the attempt's run. */
export interface CompleteOptions {
  /** What the attempt did (up to 100,000 characters). */
  readonly summary?: string
  /** The attempt's own facts (a JSON object up to 64 KiB). */
  readonly metadata?: JsonObject
}

/** One attempt at a task (a claim and how it ended), as `runs(taskId)` returns it. */
export interface TaskRun {
  readonly id: string
  readonly taskId: string
  /** 1 for the first claim of the task, 2 for the second, ...; a review claim has its work attempt's number. */
  readonly attempt: number
  /** `work` (a claim of the ready task) or `review` (a reviewer's claim). */
  readonly role: ClaimRole
  readonly workerId: string
  readonly pid: number
  readonly host: string
  readonly startedAt: number
  readonly heartbeatAt: number | null
  /** Null while the run is open. */
  readonly endedAt: number | null
  /** Null while the run is open. */
  readonly outcome: RunOutcome | null
  /** The error (or reason) it ended with: a failure's message, a release's reason, a reviewer's rejection. */
  readonly error: string | null
  /** What the attempt said it did (`complete`/`fail` option `summary`, `requestReview`'s summary). */
  readonly summary: string | null
  /** The result it handed in (`complete`, or `requestReview`'s), JSON; null for other outcomes. */
  readonly result: JsonValue | null
  /** The attempt's own facts (`complete`/`fail` option `metadata`). */
  readonly metadata: JsonObject | null
}

/** What `claim(taskId, options)` takes: who claims and for how long (the caller picked the task). */
export interface ClaimTaskOptions {
  /** Who claims (1-200 characters). */
  readonly workerId: string
  /** Lease length in ms (1 ms to 7 days). */
  readonly leaseMs: number
  /** Default `process.pid`. */
  readonly pid?: number
  /** Default `os.hostname()`. */
  readonly host?: string
}

/** What `subscribe` takes. */
export interface SubscribeOptions {
  /** Where a new subscription's cursor starts: the oldest event kept (`start`, default) or after the newest (`now`). */
  readonly from?: 'start' | 'now'
  /** Only events of this task. Default: every task. */
  readonly taskId?: string
  /** Only events of these kinds (1-50 kinds). Default: every kind. */
  readonly kinds?: readonly EventKind[]
}

/** What `reclaim` takes besides the reason. */
export interface ReclaimOptions {
  /** Not claimable again before this many ms from now (0 to 7 days). Default 0. */
  readonly retryAfterMs?: number
}

/** What `pruneEvents` keeps: give one or both; an event goes when either says so. */
export interface PruneEventsOptions {
  /** Delete events created more than this many ms ago (0 to 100 years). */
  readonly olderThanMs?: number
  /** Keep at most this many of the newest events (0 to 2^53). */
  readonly keepLatest?: number
}

/** What `pruneEvents` did. */
export interface PrunedEvents {
  /** Events deleted. */
  readonly deleted: number
  /**
   * The lowest subscriber cursor (or undefined with no subscription): no event after it was
   * deleted, so every subscriber still gets every event it has not acknowledged.
   */
  readonly cursorFloor: number | undefined
}

/** What `deleteTask` removed, besides the task itself. */
export interface DeletedTask {
  readonly taskId: string
  readonly runs: number
  readonly events: number
  readonly comments: number
  readonly attachments: number
  /** Edges removed, both ways (its dependencies and its dependents'). */
  readonly dependencies: number
  /** Dependents that became ready because the deleted task was their last open dependency. */
  readonly promoted: readonly string[]
}

/** What `release` takes. */
export interface ReleaseOptions {
  /**
   * Why the claim is handed back (up to 200 characters), kept on the run and in the `released`
   * event, e.g. `shutdown`. Default `released`.
   */
  readonly reason?: string
  /** Not claimable again before this many ms from now (0 to 7 days). Default 0. */
  readonly retryAfterMs?: number
}

/** What `block` takes. */
export interface BlockOptions {
  /** The claim of the worker that blocks its own running attempt. */
  readonly claimToken?: string
  /**
   * What the task waits for (up to 100 characters). The same kind twice in a row sends the task to
   * `triage` (a block loop); kind `dependency` sends it back to `todo` (ready when no dependency is
   * open). Default `other`.
   */
  readonly kind?: string
  /** With kind `dependency`: tasks to wait for, added as dependencies in the same transaction. */
  readonly dependsOn?: readonly string[]
}

/** What `requestReview` takes. */
export interface ReviewRequest {
  /** What was done, for the reviewer (up to 100,000 characters). */
  readonly summary?: string
  /** Stored like `complete`'s result; the task keeps it when approved. */
  readonly result?: JsonValue
}

/** A task whose running attempt is past its `maxRuntimeMs`: terminate its worker, then `fail` it with kind `timeout`. */
export interface OverrunningClaim {
  readonly taskId: string
  readonly runId: string | null
  readonly workerId: string | null
  readonly pid: number | null
  readonly host: string | null
  readonly startedAt: number
  readonly maxRuntimeMs: number
}

/** Metadata of a file that belongs to a task (the bytes live at `uri`, never in the database). */
export interface Attachment {
  readonly id: string
  readonly taskId: string
  readonly name: string
  readonly uri: string
  readonly mediaType: string | null
  readonly sizeBytes: number | null
  readonly sha256: string | null
  readonly createdBy: string | null
  readonly createdAt: number
}

/** What `addAttachment` takes. */
export interface AttachmentInput {
  /** 1-500 characters. */
  readonly name: string
  /** Where the bytes are (1-4096 characters). */
  readonly uri: string
  readonly mediaType?: string | null
  readonly sizeBytes?: number | null
  /** 64 lowercase hex digits. */
  readonly sha256?: string | null
  readonly createdBy?: string | null
}

/** A batch of events leased to one notifier of a subscription (see `takeEvents`). */
export interface EventBatch {
  readonly subscriber: string
  /** Proves the lease to `ackEvents`. */
  readonly leaseToken: string
  readonly events: readonly BoardEvent[]
  /** The cursor after an `ackEvents` of this batch. */
  readonly untilEventId: number
}

/** What `takeEvents` takes. */
export interface TakeEventsOptions {
  /** Default 100, at most 10,000. */
  readonly limit?: number
  /** How long the batch is this notifier's before another may take it again. 1 ms to 1 day. */
  readonly leaseMs: number
}

/** What `detectCrashedWorkers` takes. */
export interface CrashDetectionOptions {
  /** True when the process with this pid is alive (on `host`). */
  readonly isAlive: (pid: number) => boolean | Promise<boolean>
  /**
   * Claims younger than this are left alone, so a worker that is still starting is not reclaimed.
   * Default: `KANBAN_DB_CRASH_GRACE_MS` from the environment, else 30,000.
   */
  readonly graceMs?: number
  /** Only tasks claimed on this host. Default `os.hostname()`. */
  readonly host?: string
  /** Default: the board's clock. */
  readonly now?: number
}

/** What `releaseStaleClaims` takes besides `now`. */
export interface StaleClaimOptions {
  /**
   * True when the process with this pid is alive on `host`. With it, an expired claim of this host
   * whose worker is alive and heartbeated within `recentHeartbeatMs` is extended by its lease
   * instead of taken back (the worker is slow to heartbeat, not gone).
   */
  readonly isAlive?: (pid: number) => boolean | Promise<boolean>
  /** Default `os.hostname()`. */
  readonly host?: string
  /**
   * How recent the last heartbeat must be for an extension. Default: twice the claim's lease (a
   * heartbeat extends the lease, so an expired claim's last heartbeat is at least one lease old).
   */
  readonly recentHeartbeatMs?: number
}

/** A task taken back from a claim that expired or whose worker crashed. */
export interface ReleasedClaim {
  readonly taskId: string
  readonly runId: string | null
  /**
   * `ready` when attempts remain, else `failed`; `blocked` when a crash gave up (past `maxRetries`);
   * `review` when a reviewer's claim expired (the task waits for another reviewer).
   */
  readonly status: TaskStatus
}

/** A free-text comment on a task. */
export interface TaskComment {
  readonly id: string
  readonly taskId: string
  readonly author: string | null
  readonly body: string
  readonly createdAt: number
}

/** What `addComment` takes. */
export interface CommentInput {
  /** 1-100,000 characters. */
  readonly body: string
  /** Up to 200 characters. */
  readonly author?: string | null
}

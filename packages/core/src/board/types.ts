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
}

/** What `listTasks` takes. */
export interface TaskFilter {
  readonly status?: TaskStatus | readonly TaskStatus[]
  readonly assignee?: string
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
}

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
export type RunOutcome = 'completed' | 'failed' | 'expired' | 'crashed' | 'blocked' | 'archived'

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

/** A task taken back from a claim that expired or whose worker crashed. */
export interface ReleasedClaim {
  readonly taskId: string
  readonly runId: string | null
  /** `ready` when attempts remain, else `failed`. */
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

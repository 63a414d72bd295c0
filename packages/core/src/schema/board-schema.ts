import type { Generated, Insertable, Selectable, Updateable } from 'kysely'
import type { TaskStatus } from './task-status.js'

/**
 * The board's tables as Kysely sees them. Column names are the SQL names (snake_case); the board's
 * public types (`Task`, `BoardEvent`) are camelCase views of these rows.
 *
 * Conventions: ids are text, times are integer milliseconds since the epoch, JSON columns are text
 * holding a JSON document that was validated at the boundary.
 */
export interface BoardSchema {
  tasks: TaskTable
  task_dependencies: TaskDependencyTable
  task_runs: TaskRunTable
  events: EventTable
  comments: CommentTable
  attachments: AttachmentTable
  subscriptions: SubscriptionTable
}

/** One task (a card on the board). */
export interface TaskTable {
  id: string
  title: string
  body: string
  /** Moves only as the board's transitions allow. */
  status: TaskStatus
  /** Higher is claimed first. */
  priority: number
  /** Which worker profile may claim the task; null means any. */
  assignee: string | null
  created_by: string | null
  /** A repeated create with the same key returns the existing task. */
  idempotency_key: string | null
  /** JSON object for caller-specific fields (workspace, branch, model, ...). */
  meta: string
  created_at: number
  updated_at: number
  /** When the current (or last) attempt was claimed. */
  started_at: number | null
  /** When the task reached done or failed. */
  completed_at: number | null
  /** Random token of the current claim; null unless running. */
  claim_token: string | null
  /** Worker id of the current claim. */
  claimed_by: string | null
  worker_pid: number | null
  worker_host: string | null
  claimed_at: number | null
  claim_expires_at: number | null
  /** Lease length of the current claim, reused by a heartbeat that names none. */
  lease_ms: number | null
  heartbeat_at: number | null
  current_run_id: string | null
  /** Claims so far (each claim is one attempt). */
  attempts: number
  max_attempts: number
  /** JSON result of the completion. */
  result: string | null
  last_error: string | null
  block_reason: string | null
  /** Failed attempts since the last success (v2). */
  consecutive_failures: Generated<number>
  /** Retries after consecutive failures before the task gives up; null: the board's (v2). */
  max_retries: number | null
  /** Kind of the last block, kept after unblock to detect block loops (v2). */
  block_kind: string | null
  /** How many blocks in a row had `block_kind` (v2). */
  block_recurrences: Generated<number>
  /** When a scheduled task becomes claimable (v2). */
  due_at: number | null
  tenant: string | null
  /** A running attempt longer than this is reported for termination (v2). */
  max_runtime_ms: number | null
  /** Worker id of the attempt that asked for review; it may not review its own work (v2). */
  review_requested_by: string | null
  review_summary: string | null
  /** Rejections since the last approval (v2). */
  review_rejections: Generated<number>
  /** A ready task is not claimed before this time: a retry's backoff or a rate limit's cooldown (v4). */
  not_before: number | null
  /**
   * The idempotency key of an archived task (v5): archiving moves it here from `idempotency_key`,
   * so the key is free for a new task while the archived one still shows it.
   */
  archived_idempotency_key: Generated<string | null>
}

/** `task_id` may not be claimed before `depends_on_id` is done. */
export interface TaskDependencyTable {
  task_id: string
  depends_on_id: string
  created_at: number
}

/** One attempt at a task: opened by a claim, closed with an outcome. */
export interface TaskRunTable {
  id: string
  task_id: string
  /** 1 for the first claim of the task, 2 for the second, ... */
  attempt: number
  worker_id: string
  pid: number
  host: string
  claim_token: string
  started_at: number
  heartbeat_at: number | null
  ended_at: number | null
  /** Null while the run is open; then `RunOutcome`. */
  outcome: string | null
  error: string | null
  /** `work` (a claim of a ready task) or `review` (a reviewer's claim) (v5). */
  role: Generated<string>
  /** What the attempt said it did (v5). */
  summary: Generated<string | null>
  /** JSON result the attempt handed in (v5; a completed run's result is the task's `result`). */
  result: Generated<string | null>
  /** JSON object of the attempt's own facts (v5). */
  metadata: Generated<string | null>
}

/** The append-only event log: exactly one row per state change, written in the same transaction. */
export interface EventTable {
  /** Increasing and never reused (AUTOINCREMENT): a notifier's cursor. */
  id: Generated<number>
  task_id: string
  run_id: string | null
  /** One of `EventKind`. */
  kind: string
  from_status: string | null
  to_status: string | null
  /** JSON document with kind-specific facts, or null. */
  payload: string | null
  created_at: number
}

/** A free-text comment on a task. */
export interface CommentTable {
  id: string
  task_id: string
  author: string | null
  body: string
  created_at: number
  /** Insertion order among the task's comments: 1, 2, ... (v5). */
  seq: Generated<number>
}

/** Metadata of a file that belongs to a task; the bytes live elsewhere (`uri`). */
export interface AttachmentTable {
  id: string
  task_id: string
  name: string
  uri: string
  media_type: string | null
  size_bytes: number | null
  sha256: string | null
  created_by: string | null
  created_at: number
  /** Insertion order among the task's attachments: 1, 2, ... (v5). */
  seq: Generated<number>
}

/** A notifier's cursor in the event log, with the lease of the batch being delivered. */
export interface SubscriptionTable {
  id: string
  /** Every event up to this id was delivered and acknowledged. */
  last_event_id: number
  lease_token: string | null
  lease_expires_at: number | null
  /** The last event id of the leased batch. */
  lease_until_event_id: number | null
  created_at: number
  updated_at: number
  /** Only events of this task; null: every task (v5). */
  task_id: Generated<string | null>
  /** JSON array of the event kinds delivered; null: every kind (v5). */
  kinds: Generated<string | null>
}

export type TaskRow = Selectable<TaskTable>
export type NewTaskRow = Insertable<TaskTable>
export type TaskRowUpdate = Updateable<TaskTable>
export type TaskDependencyRow = Selectable<TaskDependencyTable>
export type TaskRunRow = Selectable<TaskRunTable>
export type NewTaskRunRow = Insertable<TaskRunTable>
export type EventRow = Selectable<EventTable>
export type NewEventRow = Insertable<EventTable>
export type CommentRow = Selectable<CommentTable>
export type AttachmentRow = Selectable<AttachmentTable>
export type SubscriptionRow = Selectable<SubscriptionTable>

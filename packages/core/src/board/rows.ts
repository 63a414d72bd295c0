import type { EventRow, TaskRow, TaskRunRow } from '../schema/board-schema.js'
import type { TaskStatus } from './transitions.js'
import type { BoardEvent, ClaimRole, EventKind, JsonObject, JsonValue, RunOutcome, Task, TaskRun } from './types.js'
import { parseJson, parseJsonObject } from './validate.js'

/** The public view of a task row (never the claim token). */
export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    status: row.status as TaskStatus,
    priority: Number(row.priority),
    assignee: row.assignee,
    createdBy: row.created_by,
    // An archived task keeps showing its key, though the key is free for a new task (schema v5).
    idempotencyKey: row.idempotency_key ?? row.archived_idempotency_key ?? null,
    meta: parseJsonObject(row.meta),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    startedAt: numberOrNull(row.started_at),
    completedAt: numberOrNull(row.completed_at),
    claimedBy: row.claimed_by,
    workerPid: numberOrNull(row.worker_pid),
    workerHost: row.worker_host,
    claimedAt: numberOrNull(row.claimed_at),
    claimExpiresAt: numberOrNull(row.claim_expires_at),
    heartbeatAt: numberOrNull(row.heartbeat_at),
    currentRunId: row.current_run_id,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    result: parseJson<JsonValue>(row.result),
    lastError: row.last_error,
    blockReason: row.block_reason,
    consecutiveFailures: Number(row.consecutive_failures),
    maxRetries: numberOrNull(row.max_retries),
    blockKind: row.block_kind,
    blockRecurrences: Number(row.block_recurrences),
    dueAt: numberOrNull(row.due_at),
    notBefore: numberOrNull(row.not_before),
    tenant: row.tenant,
    maxRuntimeMs: numberOrNull(row.max_runtime_ms),
    reviewRequestedBy: row.review_requested_by,
    reviewSummary: row.review_summary,
    reviewRejections: Number(row.review_rejections),
  }
}

/** The public view of an event row. */
export function toEvent(row: EventRow): BoardEvent {
  return {
    id: Number(row.id),
    taskId: row.task_id,
    runId: row.run_id,
    kind: row.kind as EventKind,
    fromStatus: row.from_status as TaskStatus | null,
    toStatus: row.to_status as TaskStatus | null,
    payload: parseJson<JsonValue>(row.payload),
    createdAt: Number(row.created_at),
  }
}

/**
 * The public view of a run row. A completed run's result is the task's (`complete` stores it once,
 * on the task): pass `taskResult` for it.
 */
export function toRun(row: TaskRunRow, taskResult: string | null): TaskRun {
  const result = row.result ?? (row.outcome === 'completed' ? taskResult : null)
  return {
    id: row.id,
    taskId: row.task_id,
    attempt: Number(row.attempt),
    role: row.role as ClaimRole,
    workerId: row.worker_id,
    pid: Number(row.pid),
    host: row.host,
    startedAt: Number(row.started_at),
    heartbeatAt: numberOrNull(row.heartbeat_at),
    endedAt: numberOrNull(row.ended_at),
    outcome: row.outcome as RunOutcome | null,
    error: row.error,
    summary: row.summary,
    result: parseJson<JsonValue>(result),
    metadata: row.metadata === null ? null : parseJsonObject(row.metadata),
  }
}

function numberOrNull(value: number | bigint | null): number | null {
  return value === null ? null : Number(value)
}

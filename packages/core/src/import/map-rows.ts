import { isAbsolute } from 'node:path'
import { NO_CLAIM } from '../board/task-queries.js'
import { pathToFileURL } from 'node:url'
import { TASK_STATUSES, type TaskStatus } from '../board/transitions.js'
import type { JsonObject, JsonValue, RunOutcome } from '../board/types.js'
import type { Insertable } from 'kysely'
import type { AttachmentTable, CommentTable, NewTaskRow, NewTaskRunRow } from '../schema/board-schema.js'
import type { DroppedItem } from './import-report.js'
import { parsePayload, seconds } from './event-replay.js'
import type { SourceRow } from './python-source.js'

/**
 * Row by row, what a Python board row becomes on a kanban-db board. Pure functions: the importer
 * decides what to write and when; these say what.
 */

/** kanban-db's task id rule (`src/board/validate.ts`): the Python board's `t_` + hex ids pass. */
export const TASK_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/

/** The Python dispatcher's default `kanban.failure_limit` (consecutive failures before it gives up). */
export const PYTHON_DEFAULT_FAILURE_LIMIT = 2

/** kanban-db's largest `maxAttempts`: the Python board caps no attempts, so none binds. */
export const IMPORT_DEFAULT_MAX_ATTEMPTS = 1000

/** Settings every row mapping shares. */
export interface MappingContext {
  readonly sourceId: string
  /** Ms since the epoch at the import (closes the runs of released tasks). */
  readonly now: number
  readonly failureLimit: number
  readonly maxAttempts: number
}

/** Columns of the Python `tasks` table with a kanban-db column of their own. */
const MAPPED_TASK_COLUMNS = new Set([
  'id',
  'title',
  'body',
  'assignee',
  'status',
  'priority',
  'created_by',
  'created_at',
  'started_at',
  'completed_at',
  'tenant',
  'result',
  'idempotency_key',
  'consecutive_failures',
  'last_failure_error',
  'max_runtime_seconds',
  'max_retries',
  'block_kind',
  'block_recurrences',
  'current_run_id',
])
/** The claim of a running Python task: it belongs to a Python worker and cannot carry over. */
const CLAIM_COLUMNS = ['claim_lock', 'claim_expires', 'worker_pid', 'last_heartbeat_at']

/** A Python status and the kanban-db status it becomes (running is released: see {@link mapTask}). */
export function mapStatus(status: unknown, reviewClaim = false): { to: TaskStatus; known: boolean } {
  if (status === 'running') return { to: reviewClaim ? 'review' : 'ready', known: true }
  if (typeof status === 'string' && (TASK_STATUSES as readonly string[]).includes(status) && status !== 'failed') return { to: status as TaskStatus, known: true }
  return { to: 'triage', known: false }
}

/** A mapped task, or why it cannot be imported. */
export type MappedTask =
  | {
      readonly ok: true
      readonly row: NewTaskRow
      readonly from: string
      /** Why the kanban-db status differs from the source's, for the synthesized events. */
      readonly reason?: string
      readonly ownLimit: boolean
      readonly dropped: DroppedItem[]
    }
  | { readonly ok: false; readonly reason: string }

/** What the importer knows about a task's other rows when it maps the task. */
export interface TaskRelations {
  /** Target ids of its runs, oldest first. */
  readonly runIds: readonly string[]
  /** Target id of the source's `current_run_id`, when that run is imported. */
  readonly currentRunId: string | null
  /** The newest blocked / gave_up event's reason, for `block_reason`. */
  readonly blockReason: string | null
  /**
   * Whether this task keeps the source's idempotency key (a repeated key goes to meta instead). An
   * archived task's key goes to `archived_idempotency_key`, as kanban-db's archive does: it is free.
   */
  readonly keepsIdempotencyKey: boolean
  /** The newest time any of its rows mentions (ms). */
  readonly lastAt: number
  /** A running task held by a reviewer (its last claim came from review): it goes back to review. */
  readonly reviewClaim?: boolean
  /** The newest work (not review) attempt's worker and summary: a task in review was asked for by it. */
  readonly lastWork?: { readonly workerId: string; readonly summary: string | null }
}

/**
 * One Python task as a kanban-db `tasks` row. Agent-specific columns (workspace, branch, model
 * overrides, skills, session, ...) and any column this importer does not know go to
 * `meta.hermes`; `meta.imported` records the source and its id. A running task is released to
 * ready (its claim belongs to a Python worker no kanban-db board can reach). The source's limits
 * become the task's: `maxRetries` = the consecutive failures at which the Python board gives up
 * (`max_retries`, else the dispatcher's `failureLimit`), minus one; `maxAttempts` = the context's.
 */
export function mapTask(row: SourceRow, relations: TaskRelations, context: MappingContext): MappedTask {
  const id = row['id']
  if (typeof id !== 'string' || !TASK_ID_PATTERN.test(id)) return { ok: false, reason: `the id ${JSON.stringify(id)} is not a kanban-db task id (1-64 characters of A-Za-z0-9_.:-)` }
  const createdAt = seconds(row['created_at'])
  if (createdAt === null) return { ok: false, reason: `created_at ${JSON.stringify(row['created_at'])} is not a time` }
  const title = typeof row['title'] === 'string' ? row['title'] : row['title'] === null || row['title'] === undefined ? null : String(row['title'])
  if (title === null || title.trim() === '') return { ok: false, reason: 'the task has no title' }
  const dropped: DroppedItem[] = []
  const status = mapStatus(row['status'], relations.reviewClaim === true)
  let reason: string | undefined
  if (row['status'] === 'running') {
    reason = `the task was running on the Python board; its claim belongs to a Python worker, so the import released it to ${status.to}`
    for (const column of CLAIM_COLUMNS) {
      if (row[column] !== null && row[column] !== undefined) dropped.push({ table: 'tasks', source: id, field: column, value: row[column], reason: `the claim of a Python worker does not carry over (the task was released to ${status.to})` })
    }
  } else if (!status.known) {
    reason = `the source status ${JSON.stringify(row['status'])} is not a status either board knows; the task waits in triage for a person`
  }
  const hermes: JsonObject = {}
  for (const [column, value] of Object.entries(row)) {
    if (MAPPED_TASK_COLUMNS.has(column) || value === null || value === undefined || value === '') continue
    if (row['status'] === 'running' && CLAIM_COLUMNS.includes(column)) continue
    hermes[column] = column === 'skills' ? parsePayload(value) : (value as JsonValue)
  }
  const idempotencyKey = typeof row['idempotency_key'] === 'string' && row['idempotency_key'] !== '' ? row['idempotency_key'] : null
  const archived = status.to === 'archived'
  if (idempotencyKey !== null && !archived && !relations.keepsIdempotencyKey) {
    hermes['idempotency_key'] = idempotencyKey
    dropped.push({
      table: 'tasks',
      source: id,
      field: 'idempotency_key',
      value: idempotencyKey,
      reason: 'another task has this key (kanban-db keys are unique): kept in meta.hermes.idempotency_key',
    })
  }
  const ownLimit = row['max_retries'] !== null && row['max_retries'] !== undefined && Number.isFinite(Number(row['max_retries']))
  const failureLimit = ownLimit ? Number(row['max_retries']) : context.failureLimit
  const maxRuntimeSeconds = Number(row['max_runtime_seconds'])
  const maxRuntimeMs = row['max_runtime_seconds'] === null || row['max_runtime_seconds'] === undefined || !(maxRuntimeSeconds > 0) ? null : Math.min(maxRuntimeSeconds * 1000, 7 * 24 * 3_600_000)
  const blocked = status.to === 'blocked'
  const meta: JsonObject = { imported: { from: 'hermes-kanban', source: context.sourceId, id, status: row['status'] === undefined ? null : (row['status'] as JsonValue) } }
  if (Object.keys(hermes).length > 0) meta['hermes'] = hermes
  const lastAt = Math.max(createdAt, relations.lastAt, seconds(row['started_at']) ?? 0, seconds(row['completed_at']) ?? 0)
  const task: NewTaskRow = {
    id,
    title,
    body: row['body'] === null || row['body'] === undefined ? '' : String(row['body']),
    status: status.to,
    priority: Number.isSafeInteger(Number(row['priority'])) ? Number(row['priority']) : 0,
    assignee: stringOrNull(row['assignee']),
    created_by: stringOrNull(row['created_by']),
    idempotency_key: relations.keepsIdempotencyKey && !archived ? idempotencyKey : null,
    archived_idempotency_key: archived ? idempotencyKey : null,
    meta: JSON.stringify(meta),
    created_at: createdAt,
    updated_at: lastAt,
    started_at: seconds(row['started_at']),
    completed_at: status.to === 'done' ? (seconds(row['completed_at']) ?? lastAt) : seconds(row['completed_at']),
    // An imported task holds no claim: a running source task comes in released.
    ...NO_CLAIM,
    current_run_id: relations.currentRunId ?? relations.runIds.at(-1) ?? null,
    attempts: relations.runIds.length,
    max_attempts: Math.max(context.maxAttempts, relations.runIds.length + 1),
    result: row['result'] === null || row['result'] === undefined ? null : JSON.stringify(String(row['result'])),
    last_error: stringOrNull(row['last_failure_error']),
    block_reason: blocked ? (relations.blockReason ?? 'blocked on the Python board (no reason recorded)') : null,
    consecutive_failures: nonNegative(row['consecutive_failures']),
    max_retries: Math.max(0, failureLimit - 1),
    block_kind: stringOrNull(row['block_kind']),
    block_recurrences: nonNegative(row['block_recurrences']),
    due_at: status.to === 'scheduled' ? (firstTime(row, ['due_at', 'scheduled_at', 'scheduled_for', 'run_at']) ?? context.now) : null,
    tenant: stringOrNull(row['tenant']),
    max_runtime_ms: maxRuntimeMs,
    // The worker that did the work may not review it (kanban-db refuses its review claim).
    review_requested_by: status.to === 'review' ? (relations.lastWork?.workerId ?? null) : null,
    review_summary: status.to === 'review' ? (relations.lastWork?.summary ?? null) : null,
    review_rejections: 0,
    not_before: null,
  }
  if (status.to === 'scheduled' && firstTime(row, ['due_at', 'scheduled_at', 'scheduled_for', 'run_at']) === null) {
    dropped.push({ table: 'tasks', source: id, field: 'status', value: 'scheduled', reason: 'no due time found on the scheduled task: it is due at the import (claimable at once)' })
  }
  return { ok: true, row: task, from: String(row['status']), ...(reason ? { reason } : {}), ownLimit, dropped }
}

/** Target ids are the source's (for tasks) or derived from the source's identity and row id. */
export function rowId(prefix: 'r' | 'c' | 'a', sourceId: string, id: unknown): string {
  return `${prefix}_${sourceId.replace(/^hermes-/, 'h')}_${String(id).padStart(10, '0')}`
}

const RUN_OUTCOMES: Readonly<Record<string, RunOutcome>> = {
  completed: 'completed',
  done: 'completed',
  blocked: 'blocked',
  crashed: 'crashed',
  timed_out: 'timed-out',
  spawn_failed: 'spawn-failed',
  gave_up: 'failed',
  failed: 'failed',
  reclaimed: 'expired',
  released: 'released',
  rate_limited: 'rate-limited',
  archived: 'archived',
  review_requested: 'review-requested',
  changes_requested: 'rejected',
  dependency_wait: 'blocked',
  stale: 'expired',
}

/** An operator's reclaim is kanban-db's `reclaimed` outcome; a stale claim's is `expired`. */
export function runOutcomeOf(outcome: string, manual: boolean): RunOutcome | undefined {
  return outcome === 'reclaimed' && manual ? 'reclaimed' : RUN_OUTCOMES[outcome]
}

/** Python run columns with no kanban-db column of their own: kept in the run's `metadata.hermes`. */
const RUN_META_COLUMNS = ['profile', 'step_key', 'status', 'claim_expires', 'max_runtime_seconds']

/**
 * One Python run (attempt) as a kanban-db run. The worker is the run's claim lock (`host:pid`),
 * else its profile. An open run (no end) is closed: `released` at the import when its task was
 * running, else `expired` at its last heartbeat or start.
 */
export function mapRun(row: SourceRow, attempt: number, taskWasRunning: boolean, reviewClaim: boolean, context: MappingContext): { row: NewTaskRunRow; dropped: DroppedItem[] } {
  const id = rowId('r', context.sourceId, row['id'])
  const lock = stringOrNull(row['claim_lock'])
  const [host, pid] = lock && lock.includes(':') ? [lock.slice(0, lock.lastIndexOf(':')), Number(lock.slice(lock.lastIndexOf(':') + 1))] : [null, NaN]
  const startedAt = seconds(row['started_at']) ?? 0
  let endedAt = seconds(row['ended_at'])
  const rawOutcome = stringOrNull(row['outcome']) ?? (endedAt === null ? null : stringOrNull(row['status']))
  const manual = String(row['error'] ?? '').startsWith('manual_reclaim')
  let outcome: RunOutcome | null = rawOutcome === null ? null : (runOutcomeOf(rawOutcome, manual) ?? 'failed')
  let error = stringOrNull(row['error'])
  const dropped: DroppedItem[] = []
  if (rawOutcome !== null && runOutcomeOf(rawOutcome, manual) === undefined) {
    dropped.push({ table: 'task_runs', source: String(row['id']), field: 'outcome', value: rawOutcome, reason: 'no kanban-db run outcome of that name: imported as failed' })
  }
  if (endedAt === null || outcome === null) {
    if (taskWasRunning) {
      endedAt = endedAt ?? context.now
      outcome = 'released'
      error = error ?? 'imported: the Python worker of this attempt does not carry over; the task was released to ready'
    } else {
      endedAt = endedAt ?? seconds(row['last_heartbeat_at']) ?? startedAt
      outcome = outcome ?? 'expired'
    }
  }
  const source = parsePayload(row['metadata'])
  const metadata: JsonObject = source === null ? {} : typeof source === 'object' && !Array.isArray(source) ? { ...source } : { value: source }
  const hermes: JsonObject = {}
  for (const column of RUN_META_COLUMNS) {
    const value = row[column]
    if (value !== null && value !== undefined && value !== '') hermes[column] = value as JsonValue
  }
  if (Object.keys(hermes).length > 0) metadata['hermes'] = hermes
  return {
    row: {
      id,
      task_id: String(row['task_id']),
      attempt,
      worker_id: lock ?? stringOrNull(row['profile']) ?? 'hermes',
      pid: Number.isSafeInteger(Number(row['worker_pid'])) && row['worker_pid'] !== null ? Number(row['worker_pid']) : Number.isSafeInteger(pid) ? pid : 0,
      host: host ?? 'unknown',
      // Never a task's token: no stale attempt of the source can act on the target.
      claim_token: `imported:${id}`,
      started_at: startedAt,
      heartbeat_at: seconds(row['last_heartbeat_at']),
      ended_at: endedAt,
      outcome,
      error,
      role: reviewClaim ? 'review' : 'work',
      summary: stringOrNull(row['summary']),
      metadata: Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null,
    },
    dropped,
  }
}

export function mapComment(row: SourceRow, seq: number, context: MappingContext): Insertable<CommentTable> {
  return {
    seq,
    id: rowId('c', context.sourceId, row['id']),
    task_id: String(row['task_id']),
    author: stringOrNull(row['author']),
    body: row['body'] === null || row['body'] === undefined ? '' : String(row['body']),
    created_at: seconds(row['created_at']) ?? 0,
  }
}

/** The file stays where the Python board stored it; the URI points there. */
export function mapAttachment(row: SourceRow, seq: number, context: MappingContext): Insertable<AttachmentTable> {
  const stored = String(row['stored_path'] ?? '')
  const size = Number(row['size'])
  return {
    id: rowId('a', context.sourceId, row['id']),
    task_id: String(row['task_id']),
    name: String(row['filename'] ?? stored),
    uri: isAbsolute(stored) ? pathToFileURL(stored).href : stored,
    media_type: stringOrNull(row['content_type']),
    size_bytes: Number.isSafeInteger(size) && size >= 0 ? size : null,
    sha256: null,
    created_by: stringOrNull(row['uploaded_by']),
    created_at: seconds(row['created_at']) ?? 0,
    seq,
  }
}

/** A Python subscription's key and the kanban-db subscriber name it becomes. */
export function subscriptionKey(row: SourceRow): { key: string; subscriber: string } {
  const parts = [row['platform'], row['chat_id'], row['thread_id']].map((part) => (part === null || part === undefined ? '' : String(part)))
  const key = [String(row['task_id']), ...parts].join('/')
  const subscriber = ['hermes', parts[0], parts[1], ...(parts[2] ? [parts[2]] : []), String(row['task_id'])].join(':')
  return { key, subscriber }
}

/** Routing columns of a Python subscription with no kanban-db column (reported with their values). */
export const DROPPED_SUBSCRIPTION_COLUMNS = ['user_id', 'user_id_alt', 'chat_type', 'notifier_profile', 'delivery_mode', 'delivery_metadata', 'last_ping_event_id']

function stringOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value)
}

function nonNegative(value: unknown): number {
  const number = Number(value)
  return Number.isSafeInteger(number) && number > 0 ? number : 0
}

function firstTime(row: SourceRow, columns: readonly string[]): number | null {
  for (const column of columns) {
    const time = seconds(row[column])
    if (time !== null) return time
  }
  return null
}

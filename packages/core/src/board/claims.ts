import type { Kysely } from 'kysely'
import { ClaimMismatch } from '../errors/errors.js'
import { decideAfterFailure, GAVE_UP, gaveUpReason, type BoardRules } from './failure-accounting.js'
import { promoteDueIn } from './scheduling.js'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { releaseDependentsIn } from './dependencies.js'
import { appendEvent } from './event-log.js'
import { newClaimToken, newId } from './ids.js'
import { toTask } from './rows.js'
import { endRun } from './runs.js'
import { loadTask, NO_CLAIM } from './task-queries.js'
import { assertTransition, type TaskStatus } from './transitions.js'
import type { ClaimedTask, AttemptFailureKind, RunOutcome, Task } from './types.js'

/** A claim request after validation. */
export interface ValidClaim {
  readonly workerId: string
  readonly pid: number
  readonly host: string
  readonly leaseMs: number
  /** undefined: any task; null: unassigned tasks only; a string: that assignee only. */
  readonly assignee: string | null | undefined
  /** `work`: ready tasks; `review`: tasks waiting for review, not done by this worker. */
  readonly role: 'work' | 'review'
  /** undefined: any tenant. */
  readonly tenant: string | undefined
}

/** True when a task is ready for this claimer (a plain read, no lock). */
export async function anyReady(db: Kysely<BoardSchema>, claim: ValidClaim, now: number): Promise<boolean> {
  if (claim.role === 'review') {
    return (await reviewQueue(db, claim).select('id').limit(1).executeTakeFirst()) !== undefined
  }
  let query = db.selectFrom('tasks').select('id').where('status', '=', 'ready')
  if (claim.assignee === null) query = query.where('assignee', 'is', null)
  else if (claim.assignee !== undefined) query = query.where('assignee', '=', claim.assignee)
  if (claim.tenant !== undefined) query = query.where('tenant', '=', claim.tenant)
  if ((await query.limit(1).executeTakeFirst()) !== undefined) return true
  // A scheduled task that is due turns ready inside the claim's transaction.
  const due = await db.selectFrom('tasks').select('id').where('status', '=', 'scheduled').where('due_at', '<=', now).limit(1).executeTakeFirst()
  return due !== undefined
}

/** Tasks waiting for a reviewer that `claim.workerId` may review (it did not do the work). */
function reviewQueue(db: Kysely<BoardSchema>, claim: ValidClaim) {
  let query = db
    .selectFrom('tasks')
    .where('status', '=', 'review')
    .where('claim_token', 'is', null)
    .where((eb) => eb.or([eb('review_requested_by', 'is', null), eb('review_requested_by', '<>', claim.workerId)]))
  if (claim.tenant !== undefined) query = query.where('tenant', '=', claim.tenant)
  return query
}

/**
 * Takes the highest-priority, oldest ready task in ONE statement (an UPDATE whose WHERE picks the
 * task and re-checks `status = 'ready'`), inside the caller's BEGIN IMMEDIATE transaction, so two
 * claimers in any number of processes never get the same task. Opens a run and writes a `claimed`
 * event in the same transaction. Undefined when nothing is ready.
 */
export async function claimNextIn(trx: Kysely<BoardSchema>, claim: ValidClaim, now: number): Promise<ClaimedTask | undefined> {
  if (claim.role === 'review') return claimReviewIn(trx, claim, now)
  await promoteDueIn(trx, now)
  const claimToken = newClaimToken()
  const runId = newId('r_', now)
  const claimed = await trx
    .updateTable('tasks')
    .set((eb) => ({
      status: 'running',
      claim_token: claimToken,
      claimed_by: claim.workerId,
      worker_pid: claim.pid,
      worker_host: claim.host,
      claimed_at: now,
      claim_expires_at: now + claim.leaseMs,
      lease_ms: claim.leaseMs,
      heartbeat_at: null,
      started_at: now,
      current_run_id: runId,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', (eb) => {
      let next = eb.selectFrom('tasks').select('id').where('status', '=', 'ready')
      if (claim.assignee === null) next = next.where('assignee', 'is', null)
      else if (claim.assignee !== undefined) next = next.where('assignee', '=', claim.assignee)
      if (claim.tenant !== undefined) next = next.where('tenant', '=', claim.tenant)
      return next.orderBy('priority', 'desc').orderBy('created_at', 'asc').orderBy('id', 'asc').limit(1)
    })
    .where('status', '=', 'ready')
    .returningAll()
    .executeTakeFirst()
  if (!claimed) return undefined
  assertTransition('claim', 'ready', 'running', claimed.id)
  await trx
    .insertInto('task_runs')
    .values({
      id: runId,
      task_id: claimed.id,
      attempt: Number(claimed.attempts),
      worker_id: claim.workerId,
      pid: claim.pid,
      host: claim.host,
      claim_token: claimToken,
      started_at: now,
    })
    .execute()
  await appendEvent(trx, {
    taskId: claimed.id,
    runId,
    kind: 'claimed',
    from: 'ready',
    to: 'running',
    payload: { workerId: claim.workerId, pid: claim.pid, host: claim.host, attempt: Number(claimed.attempts) },
    now,
  })
  return { ...toTask(claimed), claimToken, runId }
}

/**
 * The task, if `claimToken` is its current claim; else `ClaimMismatch` saying whether the token is
 * stale (an earlier attempt's) or unknown. `TaskNotFound` for an unknown task.
 */
export async function requireClaim(
  db: Kysely<BoardSchema>,
  taskId: string,
  claimToken: string,
  doing: string,
  statuses: readonly TaskStatus[] = ['running'],
): Promise<TaskRow> {
  const task = await loadTask(db, taskId)
  if (statuses.includes(task.status as TaskStatus) && task.claim_token === claimToken) return task
  const run = await db.selectFrom('task_runs').select(['attempt', 'outcome']).where('task_id', '=', taskId).where('claim_token', '=', claimToken).executeTakeFirst()
  const why = run
    ? `the token is stale: it belongs to attempt ${run.attempt}, which ended as ${run.outcome ?? 'released'}`
    : 'the token is not a claim token of this task'
  throw new ClaimMismatch(
    `Cannot ${doing} task ${taskId}: ${why}; the task is ${task.status}${task.status === 'running' ? ` under attempt ${task.attempts}` : ''}. ` +
      'The task was not changed. Stop working on it; claim again if you want more work.',
    { details: { taskId, status: task.status, stale: run !== undefined } },
  )
}

/** Extends the lease of the claim; returns the task. Writes no event (the status does not change). */
export async function heartbeatIn(trx: Kysely<BoardSchema>, taskId: string, claimToken: string, leaseMs: number | undefined, now: number): Promise<Task> {
  const task = await requireClaim(trx, taskId, claimToken, 'heartbeat', ['running', 'review'])
  const status = task.status as TaskStatus
  assertTransition('heartbeat', status, status, taskId)
  const lease = leaseMs ?? Number(task.lease_ms ?? 0)
  const updated = await trx
    .updateTable('tasks')
    .set({ claim_expires_at: now + lease, lease_ms: lease, heartbeat_at: now, updated_at: now })
    .where('id', '=', taskId)
    .where('claim_token', '=', claimToken)
    .returningAll()
    .executeTakeFirstOrThrow()
  if (task.current_run_id !== null) {
    await trx.updateTable('task_runs').set({ heartbeat_at: now }).where('id', '=', task.current_run_id).execute()
  }
  return toTask(updated)
}

/** Marks the task done with its result and releases its dependents, in the caller's transaction. */
export async function completeIn(trx: Kysely<BoardSchema>, taskId: string, claimToken: string, resultJson: string | null, now: number): Promise<Task> {
  assertTransition('complete', 'running', 'done', taskId)
  // The hot path is one statement: the UPDATE itself checks the claim. Only when it changes nothing
  // does requireClaim read the task to say why (TaskNotFound or ClaimMismatch).
  const updated = await trx
    .updateTable('tasks')
    .set({ ...NO_CLAIM, status: 'done', result: resultJson, completed_at: now, updated_at: now, consecutive_failures: 0, block_kind: null, block_recurrences: 0 })
    .where('id', '=', taskId)
    .where('status', '=', 'running')
    .where('claim_token', '=', claimToken)
    .returningAll()
    .executeTakeFirst()
  if (!updated) {
    await requireClaim(trx, taskId, claimToken, 'complete')
    throw new Error(`kanban-db bug: task ${taskId} holds the claim but could not be completed`)
  }
  await endRun(trx, updated.current_run_id, 'completed', now)
  await appendEvent(trx, { taskId, runId: updated.current_run_id, kind: 'completed', from: 'running', to: 'done', now })
  await releaseDependentsIn(trx, taskId, now)
  return toTask(updated)
}

/** How a failing attempt is reported (validated `FailOptions`). */
export interface ValidFailure {
  readonly error: string
  readonly retry: boolean
  readonly kind: AttemptFailureKind
  readonly rateLimited: boolean
}

const RUN_OUTCOME_OF: Readonly<Record<AttemptFailureKind, RunOutcome>> = { error: 'failed', spawn: 'spawn-failed', timeout: 'timed-out' }

/**
 * Ends the claim as failed. A rate-limited outcome goes back to ready counting nothing (not a
 * failure, not an attempt). Any other failure counts (see `decideAfterFailure`): back to ready,
 * blocked with a `gave-up` event past `maxRetries` consecutive failures, or failed.
 */
export async function failIn(trx: Kysely<BoardSchema>, taskId: string, claimToken: string, failure: ValidFailure, rules: BoardRules, now: number): Promise<Task> {
  const task = await requireClaim(trx, taskId, claimToken, 'fail')
  const runId = task.current_run_id
  if (failure.rateLimited) {
    assertTransition('fail', 'running', 'ready', taskId)
    const updated = await trx
      .updateTable('tasks')
      .set((eb) => ({ ...NO_CLAIM, status: 'ready', last_error: failure.error, attempts: eb('attempts', '-', 1), updated_at: now }))
      .where('id', '=', taskId)
      .where('claim_token', '=', claimToken)
      .returningAll()
      .executeTakeFirstOrThrow()
    await endRun(trx, runId, 'rate-limited', now, failure.error)
    await appendEvent(trx, { taskId, runId, kind: 'requeued', from: 'running', to: 'ready', payload: { error: failure.error, rateLimited: true }, now })
    return toTask(updated)
  }
  const decision = decideAfterFailure(task, failure.retry, rules)
  assertTransition('fail', 'running', decision.to, taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({
      ...NO_CLAIM,
      status: decision.to,
      last_error: failure.error,
      consecutive_failures: decision.consecutiveFailures,
      completed_at: decision.to === 'failed' ? now : null,
      ...(decision.gaveUp ? { block_reason: gaveUpReason(decision, failure.error), block_kind: GAVE_UP, block_recurrences: 1 } : {}),
      updated_at: now,
    })
    .where('id', '=', taskId)
    .where('claim_token', '=', claimToken)
    .returningAll()
    .executeTakeFirstOrThrow()
  await endRun(trx, runId, RUN_OUTCOME_OF[failure.kind], now, failure.error)
  await appendEvent(trx, {
    taskId,
    runId,
    kind: decision.gaveUp ? 'gave-up' : decision.to === 'ready' ? 'retried' : 'failed',
    from: 'running',
    to: decision.to,
    payload: {
      error: failure.error,
      failureKind: failure.kind,
      attempt: Number(task.attempts),
      maxAttempts: Number(task.max_attempts),
      consecutiveFailures: decision.consecutiveFailures,
      maxRetries: decision.maxRetries,
    },
    now,
  })
  return toTask(updated)
}

/**
 * Claims the next task waiting for review for a reviewer (in the caller's transaction): the task
 * stays `review`, with the reviewer's claim and a run of its own. A worker never gets the review of
 * its own work. Undefined when nothing waits.
 */
async function claimReviewIn(trx: Kysely<BoardSchema>, claim: ValidClaim, now: number): Promise<ClaimedTask | undefined> {
  const claimToken = newClaimToken()
  const runId = newId('r_', now)
  const claimed = await trx
    .updateTable('tasks')
    .set({
      claim_token: claimToken,
      claimed_by: claim.workerId,
      worker_pid: claim.pid,
      worker_host: claim.host,
      claimed_at: now,
      claim_expires_at: now + claim.leaseMs,
      lease_ms: claim.leaseMs,
      heartbeat_at: null,
      current_run_id: runId,
      updated_at: now,
    })
    .where('id', '=', (eb) => {
      let next = eb
        .selectFrom('tasks')
        .select('id')
        .where('status', '=', 'review')
        .where('claim_token', 'is', null)
        .where((inner) => inner.or([inner('review_requested_by', 'is', null), inner('review_requested_by', '<>', claim.workerId)]))
      if (claim.tenant !== undefined) next = next.where('tenant', '=', claim.tenant)
      return next.orderBy('priority', 'desc').orderBy('updated_at', 'asc').orderBy('id', 'asc').limit(1)
    })
    .where('status', '=', 'review')
    .where('claim_token', 'is', null)
    .returningAll()
    .executeTakeFirst()
  if (!claimed) return undefined
  assertTransition('claim-review', 'review', 'review', claimed.id)
  await trx
    .insertInto('task_runs')
    .values({
      id: runId,
      task_id: claimed.id,
      attempt: Number(claimed.attempts),
      worker_id: claim.workerId,
      pid: claim.pid,
      host: claim.host,
      claim_token: claimToken,
      started_at: now,
    })
    .execute()
  await appendEvent(trx, {
    taskId: claimed.id,
    runId,
    kind: 'review-claimed',
    from: 'review',
    to: 'review',
    payload: { reviewerId: claim.workerId, workerId: claimed.review_requested_by },
    now,
  })
  return { ...toTask(claimed), claimToken, runId }
}

import { sql, type ExpressionBuilder, type Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
import { ClaimMismatch } from '../errors/errors.js'
import { decideAfterFailure, GAVE_UP, gaveUpReason, type BoardRules } from './failure-accounting.js'
import { promoteDueIn } from './scheduling.js'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { dependentsForRelease, releaseDependentsIn } from './dependencies.js'
import { appendEvent, resultPayloadJson } from './event-log.js'
import { newClaimToken, newId } from './ids.js'
import { toTask } from './rows.js'
import { endRun, endRunWithNotes, type RunNotes } from './runs.js'
import { loadTask, NO_CLAIM } from './task-queries.js'
import { forUpdateSkipLocked } from './row-locks.js'
import { assertTransition, type TaskStatus } from './transitions.js'
import type { ClaimedTask, AttemptFailureKind, RunOutcome, Task } from './types.js'
import { ONE_ROW, statusLiteral } from './literals.js'

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
    return (await reviewQueue(db, claim).select('id').limit(ONE_ROW).executeTakeFirst()) !== undefined
  }
  if (claim.assignee === undefined && claim.tenant === undefined) {
    if ((await anyReadyTask.execute(db, { now })).rows.length > 0) return true
    return (await anyDueTask.execute(db, { now })).rows.length > 0
  }
  let query = db.selectFrom('tasks').select('id').where('status', '=', statusLiteral('ready')).where(claimableAt(now))
  if (claim.assignee === null) query = query.where('assignee', 'is', null)
  else if (claim.assignee !== undefined) query = query.where('assignee', '=', claim.assignee)
  if (claim.tenant !== undefined) query = query.where('tenant', '=', claim.tenant)
  if ((await query.limit(ONE_ROW).executeTakeFirst()) !== undefined) return true
  // A scheduled task that is due turns ready inside the claim's transaction.
  return (await anyDueTask.execute(db, { now })).rows.length > 0
}

const anyReadyTask = new PreparedQuery<BoardSchema, { now: number }>((db, params) =>
  db.selectFrom('tasks').select('id').where('status', '=', statusLiteral('ready')).where(claimableAt(params.now)).limit(ONE_ROW),
)

/** A ready task's backoff or cooldown (`not_before`) has passed by `now`. */
export function claimableAt(now: number) {
  return (eb: ExpressionBuilder<BoardSchema, 'tasks'>) => eb.or([eb('not_before', 'is', null), eb('not_before', '<=', now)])
}

const anyDueTask = new PreparedQuery<BoardSchema, { now: number }>((db, params) =>
  db.selectFrom('tasks').select('id').where('status', '=', statusLiteral('scheduled')).where('due_at', '<=', params.now).limit(ONE_ROW),
)

/** Tasks waiting for a reviewer that `claim.workerId` may review (it did not do the work). */
function reviewQueue(db: Kysely<BoardSchema>, claim: ValidClaim) {
  let query = db
    .selectFrom('tasks')
    .where('status', '=', statusLiteral('review'))
    .where('claim_token', 'is', null)
    .where((eb) => eb.or([eb('review_requested_by', 'is', null), eb('review_requested_by', '<>', claim.workerId)]))
  if (claim.tenant !== undefined) query = query.where('tenant', '=', claim.tenant)
  return query
}

/**
 * Takes the highest-priority, oldest ready task in ONE statement (an UPDATE whose WHERE picks the
 * task and re-checks `status = 'ready'`; on Postgres its subquery skips rows other claimers hold),
 * inside the caller's write transaction, so two claimers in any number of processes never get the
 * same task. Opens a run and writes a `claimed`
 * event in the same transaction. Undefined when nothing is ready.
 */
export async function claimNextIn(trx: Kysely<BoardSchema>, claim: ValidClaim, now: number): Promise<ClaimedTask | undefined> {
  if (claim.role === 'review') return claimReviewIn(trx, claim, now)
  await promoteDueIn(trx, now)
  const claimToken = newClaimToken()
  const runId = newId('r_', now)
  const values: ClaimValues = { claimToken, workerId: claim.workerId, pid: claim.pid, host: claim.host, now, expiresAt: now + claim.leaseMs, leaseMs: claim.leaseMs, runId }
  const claimed =
    claim.assignee === undefined && claim.tenant === undefined
      ? (await claimAnyReady.execute(trx, values)).rows[0]
      : await claimReadyUpdate(trx, values, claim).executeTakeFirst()
  if (!claimed) return undefined
  assertTransition('claim', 'ready', 'running', claimed.id)
  await openRun.execute(trx, { ...values, taskId: claimed.id, attempt: Number(claimed.attempts) })
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

/** The values of one claim, as the claim's UPDATE and its run row take them. */
export interface ClaimValues {
  readonly claimToken: string
  readonly workerId: string
  readonly pid: number
  readonly host: string
  readonly now: number
  readonly expiresAt: number
  readonly leaseMs: number
  readonly runId: string
}

/**
 * The claim: one UPDATE whose WHERE picks the highest-priority, oldest ready task (restricted to an
 * assignee or a tenant when the claim asks) and re-checks it is still ready.
 */
function claimReadyUpdate(db: Kysely<BoardSchema>, values: ClaimValues, filter: Pick<ValidClaim, 'assignee' | 'tenant'>) {
  return db
    .updateTable('tasks')
    .set((eb) => ({
      status: 'running',
      claim_token: values.claimToken,
      claimed_by: values.workerId,
      worker_pid: values.pid,
      worker_host: values.host,
      claimed_at: values.now,
      claim_expires_at: values.expiresAt,
      lease_ms: values.leaseMs,
      heartbeat_at: null,
      started_at: values.now,
      current_run_id: values.runId,
      not_before: null,
      attempts: eb('attempts', '+', 1),
      updated_at: values.now,
    }))
    .where('id', '=', (eb) => {
      let next = eb.selectFrom('tasks').select('id').where('status', '=', statusLiteral('ready')).where(claimableAt(values.now))
      if (filter.assignee === null) next = next.where('assignee', 'is', null)
      else if (filter.assignee !== undefined) next = next.where('assignee', '=', filter.assignee)
      if (filter.tenant !== undefined) next = next.where('tenant', '=', filter.tenant)
      // Where rows are locked, claimers skip the ready rows others are claiming right now, so no
      // claimer gets "nothing ready" while a ready task is free, and none waits for another.
      return forUpdateSkipLocked(db, next.orderBy('priority', 'desc').orderBy('created_at', 'asc').orderBy('id', 'asc').limit(ONE_ROW))
    })
    .where('status', '=', statusLiteral('ready'))
    .returningAll()
}

/** The claim of any ready task (no assignee or tenant filter): the fleet's hot path, compiled once. */
const claimAnyReady = new PreparedQuery<BoardSchema, ClaimValues, TaskRow>((db, params) =>
  claimReadyUpdate(db, params, { assignee: undefined, tenant: undefined }),
)

/** The run row a claim opens. */
export const openRun = new PreparedQuery<BoardSchema, ClaimValues & { readonly taskId: string; readonly attempt: number }>((db, params) =>
  db.insertInto('task_runs').values({
    id: params.runId,
    task_id: params.taskId,
    attempt: params.attempt,
    worker_id: params.workerId,
    pid: params.pid,
    host: params.host,
    claim_token: params.claimToken,
    started_at: params.now,
  }),
)

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

/**
 * Extends the lease of the claim; returns the task. Writes no event (the status does not change).
 * The expiry only moves forward: it becomes `now + lease` or stays where it is, whichever is later,
 * so a worker whose clock jumped back cannot put its own live claim within a reclaimer's reach.
 * `forwardOnly: false` (the clock guards turned off, to show the hazard in tests) sets `now + lease`.
 */
export async function heartbeatIn(
  trx: Kysely<BoardSchema>,
  taskId: string,
  claimToken: string,
  leaseMs: number | undefined,
  now: number,
  forwardOnly = true,
): Promise<Task> {
  const task = await requireClaim(trx, taskId, claimToken, 'heartbeat', ['running', 'review'])
  const status = task.status as TaskStatus
  assertTransition('heartbeat', status, status, taskId)
  const lease = leaseMs ?? Number(task.lease_ms ?? 0)
  const expiry = now + lease
  const updated = await trx
    .updateTable('tasks')
    .set({
      claim_expires_at: forwardOnly ? sql<number>`CASE WHEN claim_expires_at > ${expiry} THEN claim_expires_at ELSE ${expiry} END` : expiry,
      lease_ms: lease,
      heartbeat_at: now,
      updated_at: now,
    })
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
export async function completeIn(
  trx: Kysely<BoardSchema>,
  taskId: string,
  claimToken: string,
  resultJson: string | null,
  now: number,
  notes?: RunNotes,
): Promise<Task> {
  assertTransition('complete', 'running', 'done', taskId)
  // The hot path is one statement: the UPDATE itself checks the claim. Only when it changes nothing
  // does requireClaim read the task to say why (TaskNotFound or ClaimMismatch).
  const updated = (await completeRunning.execute(trx, { taskId, claimToken, resultJson, now })).rows[0]
  if (!updated) {
    await requireClaim(trx, taskId, claimToken, 'complete')
    throw new Error(`kanban-db bug: task ${taskId} holds the claim but could not be completed`)
  }
  // The result stays on the task alone (the run reads it from there); summary and metadata, when
  // given, go on the run.
  await endRunWithNotes(trx, updated.current_run_id, 'completed', now, null, notes && { ...notes, resultJson: null })
  const dependents = await dependentsForRelease(trx, taskId)
  await appendEvent(trx, { taskId, runId: updated.current_run_id, kind: 'completed', from: 'running', to: 'done', payloadJson: resultPayloadJson(resultJson), now })
  await releaseDependentsIn(trx, taskId, now, dependents)
  return toTask(updated)
}

const completeRunning = new PreparedQuery<BoardSchema, { taskId: string; claimToken: string; resultJson: string | null; now: number }, TaskRow>(
  (db, params) =>
    db
      .updateTable('tasks')
      .set({
        ...NO_CLAIM,
        status: 'done',
        result: params.resultJson,
        completed_at: params.now,
        updated_at: params.now,
        consecutive_failures: 0,
        block_kind: null,
        block_recurrences: 0,
      })
      .where('id', '=', params.taskId)
      .where('status', '=', statusLiteral('running'))
      .where('claim_token', '=', params.claimToken)
      .returningAll(),
)

/** How a failing attempt is reported (validated `FailOptions`). */
export interface ValidFailure {
  readonly error: string
  readonly retry: boolean
  readonly kind: AttemptFailureKind
  readonly rateLimited: boolean
  /** ms from now before the task, back in ready, may be claimed again (0: at once). */
  readonly retryAfterMs: number
  /** Summary and metadata the attempt hands in, kept on its run. */
  readonly notes?: RunNotes
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
      .set((eb) => ({ ...NO_CLAIM, status: 'ready', last_error: failure.error, attempts: eb('attempts', '-', 1), not_before: notBeforeOf(failure.retryAfterMs, now), updated_at: now }))
      .where('id', '=', taskId)
      .where('claim_token', '=', claimToken)
      .returningAll()
      .executeTakeFirstOrThrow()
    await endRunWithNotes(trx, runId, 'rate-limited', now, failure.error, failure.notes)
    await appendEvent(trx, { taskId, runId, kind: 'requeued', from: 'running', to: 'ready', payload: { error: failure.error, rateLimited: true, ...(failure.retryAfterMs > 0 ? { notBefore: now + failure.retryAfterMs } : {}) }, now })
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
      not_before: decision.to === 'ready' ? notBeforeOf(failure.retryAfterMs, now) : null,
      ...(decision.gaveUp ? { block_reason: gaveUpReason(decision, failure.error), block_kind: GAVE_UP, block_recurrences: 1 } : {}),
      updated_at: now,
    })
    .where('id', '=', taskId)
    .where('claim_token', '=', claimToken)
    .returningAll()
    .executeTakeFirstOrThrow()
  await endRunWithNotes(trx, runId, RUN_OUTCOME_OF[failure.kind], now, failure.error, failure.notes)
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
      ...(decision.to === 'ready' && failure.retryAfterMs > 0 ? { notBefore: now + failure.retryAfterMs } : {}),
    },
    now,
  })
  return toTask(updated)
}

function notBeforeOf(retryAfterMs: number, now: number): number | null {
  return retryAfterMs > 0 ? now + retryAfterMs : null
}

/**
 * Hands a running task back unfinished (a worker shutting down): ready again, counting neither a
 * failure nor an attempt, its run ended as `released` with the reason, one `released` event.
 */
export async function releaseIn(trx: Kysely<BoardSchema>, taskId: string, claimToken: string, reason: string, retryAfterMs: number, now: number): Promise<Task> {
  const task = await requireClaim(trx, taskId, claimToken, 'release')
  assertTransition('release', 'running', 'ready', taskId)
  const notBefore = notBeforeOf(retryAfterMs, now)
  const updated = await trx
    .updateTable('tasks')
    .set((eb) => ({ ...NO_CLAIM, status: 'ready', attempts: eb('attempts', '-', 1), not_before: notBefore, updated_at: now }))
    .where('id', '=', taskId)
    .where('claim_token', '=', claimToken)
    .returningAll()
    .executeTakeFirstOrThrow()
  await endRun(trx, task.current_run_id, 'released', now, reason)
  await appendEvent(trx, { taskId, runId: task.current_run_id, kind: 'released', from: 'running', to: 'ready', payload: { reason, notBefore }, now })
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
        .where('status', '=', statusLiteral('review'))
        .where('claim_token', 'is', null)
        .where((inner) => inner.or([inner('review_requested_by', 'is', null), inner('review_requested_by', '<>', claim.workerId)]))
      if (claim.tenant !== undefined) next = next.where('tenant', '=', claim.tenant)
      return forUpdateSkipLocked(trx, next.orderBy('priority', 'desc').orderBy('updated_at', 'asc').orderBy('id', 'asc').limit(ONE_ROW))
    })
    .where('status', '=', statusLiteral('review'))
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
      role: 'review',
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

import type { Kysely } from 'kysely'
import { ClaimMismatch } from '../errors/errors.js'
import type { BoardSchema } from '../schema/board-schema.js'
import { requireClaim } from './claims.js'
import { dependentsForRelease, releaseDependentsIn } from './dependencies.js'
import { appendEvent, resultPayloadJson } from './event-log.js'
import type { BoardRules } from './failure-accounting.js'
import { toTask } from './rows.js'
import { endRun, endRunWithNotes } from './runs.js'
import { NO_CLAIM } from './task-queries.js'
import { assertTransition, type TaskStatus } from './transitions.js'
import type { Task } from './types.js'

/**
 * The running attempt hands its work to review: its claim ends (the run closes as
 * `review-requested`), the task waits in `review` with the worker's summary and result, and the
 * worker's id is kept so it can never review its own work. A success: consecutive failures reset.
 */
export async function requestReviewIn(
  trx: Kysely<BoardSchema>,
  taskId: string,
  claimToken: string,
  summary: string | null,
  resultJson: string | null,
  now: number,
): Promise<Task> {
  const task = await requireClaim(trx, taskId, claimToken, 'request review of')
  assertTransition('request-review', 'running', 'review', taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({
      ...NO_CLAIM,
      status: 'review',
      review_requested_by: task.claimed_by,
      review_summary: summary,
      result: resultJson ?? task.result,
      consecutive_failures: 0,
      updated_at: now,
    })
    .where('id', '=', taskId)
    .where('claim_token', '=', claimToken)
    .returningAll()
    .executeTakeFirstOrThrow()
  // The attempt's summary and result stay on its run too: a rejected attempt's work is still there for the next one.
  await endRunWithNotes(trx, task.current_run_id, 'review-requested', now, null, { summary, resultJson, metadataJson: null })
  await appendEvent(trx, { taskId, runId: task.current_run_id, kind: 'review-requested', from: 'running', to: 'review', payload: { workerId: task.claimed_by, summary }, now })
  return toTask(updated)
}

/** The reviewer approves: done, and dependents released in the same transaction. */
export async function approveIn(trx: Kysely<BoardSchema>, taskId: string, reviewToken: string, comment: string | null, now: number): Promise<Task> {
  const task = await requireReviewer(trx, taskId, reviewToken, 'approve')
  assertTransition('approve', 'review', 'done', taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({ ...NO_CLAIM, status: 'done', completed_at: now, review_rejections: 0, block_kind: null, block_recurrences: 0, updated_at: now })
    .where('id', '=', taskId)
    .where('claim_token', '=', reviewToken)
    .returningAll()
    .executeTakeFirstOrThrow()
  await endRun(trx, task.current_run_id, 'approved', now)
  const dependents = await dependentsForRelease(trx, taskId)
  await appendEvent(trx, { taskId, runId: task.current_run_id, kind: 'approved', from: 'review', to: 'done', payloadJson: resultPayloadJson(updated.result, { reviewerId: task.claimed_by, comment }), now })
  await releaseDependentsIn(trx, taskId, now, dependents)
  return toTask(updated)
}

/**
 * The reviewer rejects with reasons: back to ready for a fix, counting consecutive rejections; at
 * the board's `maxReviewRejections` the task goes to triage for a person.
 */
export async function rejectIn(trx: Kysely<BoardSchema>, taskId: string, reviewToken: string, reasons: string, rules: BoardRules, now: number): Promise<Task> {
  const task = await requireReviewer(trx, taskId, reviewToken, 'reject')
  const rejections = Number(task.review_rejections) + 1
  const to: TaskStatus = rejections >= rules.maxReviewRejections ? 'triage' : 'ready'
  assertTransition('reject', 'review', to, taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({ ...NO_CLAIM, status: to, review_rejections: rejections, last_error: reasons, updated_at: now })
    .where('id', '=', taskId)
    .where('claim_token', '=', reviewToken)
    .returningAll()
    .executeTakeFirstOrThrow()
  await endRun(trx, task.current_run_id, 'rejected', now, reasons)
  await appendEvent(trx, {
    taskId,
    runId: task.current_run_id,
    kind: 'rejected',
    from: 'review',
    to,
    payload: { reviewerId: task.claimed_by, reasons, rejections, maxReviewRejections: rules.maxReviewRejections, escalated: to === 'triage' },
    now,
  })
  return toTask(updated)
}

async function requireReviewer(trx: Kysely<BoardSchema>, taskId: string, reviewToken: string, doing: string) {
  const task = await requireClaim(trx, taskId, reviewToken, doing, ['review'])
  if (task.claimed_by !== null && task.claimed_by === task.review_requested_by) {
    // claimNext never hands this out; a hand-made claim must not slip through either.
    throw new ClaimMismatch(`Cannot ${doing} task ${taskId}: ${task.claimed_by} did the work and may not review it. The task was not changed.`, {
      details: { taskId, reviewerId: task.claimed_by },
    })
  }
  return task
}

import type { Kysely } from 'kysely'
import type { BoardSchema } from '../schema/board-schema.js'
import { requireClaim } from './claims.js'
import { appendEvent } from './event-log.js'
import { toTask } from './rows.js'
import { endRun } from './runs.js'
import { loadTask, NO_CLAIM, unfinishedDependencyCount } from './task-queries.js'
import { assertCanStart, assertTransition, type TaskStatus } from './transitions.js'
import type { Task } from './types.js'

/**
 * Parks a todo, ready or running task as blocked with a reason. A running task's claim ends (its
 * run closes as `blocked`); when `claimToken` is given it must be the current claim.
 */
export async function blockIn(trx: Kysely<BoardSchema>, taskId: string, reason: string, claimToken: string | undefined, now: number): Promise<Task> {
  const task = claimToken === undefined ? await loadTask(trx, taskId) : await requireClaim(trx, taskId, claimToken, 'block')
  const from = task.status as TaskStatus
  assertCanStart('block', from, taskId)
  assertTransition('block', from, 'blocked', taskId)
  const running = from === 'running'
  const updated = await trx
    .updateTable('tasks')
    .set({ ...(running ? NO_CLAIM : {}), status: 'blocked', block_reason: reason, updated_at: now })
    .where('id', '=', taskId)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirstOrThrow()
  if (running) await endRun(trx, task.current_run_id, 'blocked', now, reason)
  await appendEvent(trx, { taskId, runId: running ? task.current_run_id : null, kind: 'blocked', from, to: 'blocked', payload: { reason }, now })
  return toTask(updated)
}

/** Takes a blocked task back to ready, or to todo while a dependency is not done. */
export async function unblockIn(trx: Kysely<BoardSchema>, taskId: string, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('unblock', from, taskId)
  const to: TaskStatus = (await unfinishedDependencyCount(trx, taskId)) > 0 ? 'todo' : 'ready'
  assertTransition('unblock', from, to, taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({ status: to, block_reason: null, updated_at: now })
    .where('id', '=', taskId)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirstOrThrow()
  await appendEvent(trx, { taskId, kind: 'unblocked', from, to, payload: { reason: task.block_reason }, now })
  return toTask(updated)
}

/** Puts a task away for good. A running task's claim ends (its run closes as `archived`). */
export async function archiveIn(trx: Kysely<BoardSchema>, taskId: string, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('archive', from, taskId)
  assertTransition('archive', from, 'archived', taskId)
  const running = from === 'running'
  const updated = await trx
    .updateTable('tasks')
    .set({ ...(running ? NO_CLAIM : {}), status: 'archived', updated_at: now })
    .where('id', '=', taskId)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirstOrThrow()
  if (running) await endRun(trx, task.current_run_id, 'archived', now)
  await appendEvent(trx, { taskId, runId: running ? task.current_run_id : null, kind: 'archived', from, to: 'archived', now })
  return toTask(updated)
}

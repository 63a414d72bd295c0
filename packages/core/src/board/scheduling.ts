import type { Kysely } from 'kysely'
import type { BoardSchema } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { toTask } from './rows.js'
import { loadTask, unfinishedDependencyCount } from './task-queries.js'
import { assertCanStart, assertTransition, type TaskStatus } from './transitions.js'
import type { Task } from './types.js'

/**
 * Moves every scheduled task whose due time has come to ready (or todo while a dependency is not
 * done), with one `due` event each, in the caller's transaction. `claimNext` runs it first, so a
 * scheduled task is claimable from its due time on and never before. Returns the ids moved.
 */
export async function promoteDueIn(trx: Kysely<BoardSchema>, now: number): Promise<string[]> {
  const due = await trx
    .selectFrom('tasks')
    .select(['id', 'due_at'])
    .where('status', '=', 'scheduled')
    .where('due_at', '<=', now)
    .orderBy('due_at')
    .orderBy('id')
    .execute()
  for (const { id, due_at: dueAt } of due) {
    const to: TaskStatus = (await unfinishedDependencyCount(trx, id)) > 0 ? 'todo' : 'ready'
    assertTransition('due', 'scheduled', to, id)
    await trx.updateTable('tasks').set({ status: to, updated_at: now }).where('id', '=', id).where('status', '=', 'scheduled').execute()
    await appendEvent(trx, { taskId: id, kind: 'due', from: 'scheduled', to, payload: { dueAt: Number(dueAt) }, now })
  }
  return due.map((task) => task.id)
}

/** Makes a triage, todo, ready or blocked task wait until `dueAt` (status `scheduled`). */
export async function scheduleIn(trx: Kysely<BoardSchema>, taskId: string, dueAt: number, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertTransition('schedule', from, 'scheduled', taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({ status: 'scheduled', due_at: dueAt, block_reason: null, updated_at: now })
    .where('id', '=', taskId)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirstOrThrow()
  await appendEvent(trx, { taskId, kind: 'scheduled', from, to: 'scheduled', payload: { dueAt }, now })
  return toTask(updated)
}

/** Accepts a task out of triage: ready, or todo while a dependency is not done. */
export async function acceptIn(trx: Kysely<BoardSchema>, taskId: string, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('accept', from, taskId)
  const to: TaskStatus = (await unfinishedDependencyCount(trx, taskId)) > 0 ? 'todo' : 'ready'
  assertTransition('accept', from, to, taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({ status: to, block_reason: null, block_kind: null, block_recurrences: 0, consecutive_failures: 0, review_rejections: 0, updated_at: now })
    .where('id', '=', taskId)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirstOrThrow()
  await appendEvent(trx, { taskId, kind: 'accepted', from, to, now })
  return toTask(updated)
}

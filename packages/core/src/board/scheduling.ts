import type { Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
import type { BoardSchema } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { toTask } from './rows.js'
import { loadTask, unfinishedDependencyCount } from './task-queries.js'
import { assertCanStart, assertTransition, type TaskStatus } from './transitions.js'
import type { Task } from './types.js'
import { statusLiteral } from './literals.js'
import { forUpdateSkipLocked } from './row-locks.js'

/**
 * Moves every scheduled task whose due time has come to ready (or todo while a dependency is not
 * done), with one `due` event each, in the caller's transaction. `claimNext` runs it first, so a
 * scheduled task is claimable from its due time on and never before. Returns the ids moved.
 */
export async function promoteDueIn(trx: Kysely<BoardSchema>, now: number): Promise<string[]> {
  const due = (await dueTasks.execute(trx, { now })).rows
  const promoted: string[] = []
  for (const { id, due_at: dueAt } of due) {
    const to: TaskStatus = (await unfinishedDependencyCount(trx, id)) > 0 ? 'todo' : 'ready'
    assertTransition('due', 'scheduled', to, id)
    const moved = await trx.updateTable('tasks').set({ status: to, updated_at: now }).where('id', '=', id).where('status', '=', statusLiteral('scheduled')).executeTakeFirst()
    if (Number(moved.numUpdatedRows) === 0) continue
    await appendEvent(trx, { taskId: id, kind: 'due', from: 'scheduled', to, payload: { dueAt: Number(dueAt) }, now })
    promoted.push(id)
  }
  return promoted
}

/** Scheduled tasks due at `now`, oldest due first. Runs before every claim: compiled once. */
const dueTasks = new PreparedQuery<BoardSchema, { now: number }, { id: string; due_at: number | null }>((db, params) =>
  // Where rows are locked, a task another claimer is promoting right now is left to it.
  forUpdateSkipLocked(db, db.selectFrom('tasks').select(['id', 'due_at']).where('status', '=', statusLiteral('scheduled')).where('due_at', '<=', params.now).orderBy('due_at').orderBy('id')),
)

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

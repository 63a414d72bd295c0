import { sql, type Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
import { DependencyCycle } from '../errors/errors.js'
import type { BoardSchema } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { toTask } from './rows.js'
import { loadTask, unfinishedDependencyCount } from './task-queries.js'
import { assertCanStart, assertTransition, type TaskStatus } from './transitions.js'
import type { Task } from './types.js'
import { statusLiteral } from './literals.js'
import { locksRows, lockDependencyGraph } from './row-locks.js'

/**
 * Makes `taskId` wait for `dependsOnId`, refusing cycles. A ready task whose new dependency is not
 * done goes back to todo. Adding an edge that exists already changes nothing and writes no event.
 */
export async function addDependencyIn(trx: Kysely<BoardSchema>, taskId: string, dependsOnId: string, now: number): Promise<Task> {
  if (taskId === dependsOnId) throw cycle(taskId, dependsOnId)
  await lockDependencyGraph(trx)
  // The dependency's row before the task's, the order a completion locks them in (the completed
  // task, then its dependents), so the two never wait for each other in a cycle.
  const dependency = await loadTask(trx, dependsOnId)
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('depend', from, taskId)
  const existing = await trx
    .selectFrom('task_dependencies')
    .select('task_id')
    .where('task_id', '=', taskId)
    .where('depends_on_id', '=', dependsOnId)
    .executeTakeFirst()
  if (existing) return toTask(task)

  // A cycle exists when the new dependency already (transitively) depends on the task.
  const reachable = await sql<{ found: number }>`
    WITH RECURSIVE upstream(id) AS (
      SELECT depends_on_id FROM task_dependencies WHERE task_id = ${dependsOnId}
      UNION
      SELECT d.depends_on_id FROM task_dependencies d JOIN upstream u ON d.task_id = u.id
    )
    SELECT 1 AS found FROM upstream WHERE id = ${taskId} LIMIT 1`.execute(trx)
  if (reachable.rows.length > 0) throw cycle(taskId, dependsOnId)

  const to: TaskStatus = from === 'ready' && dependency.status !== 'done' ? 'todo' : from
  assertTransition('depend', from, to, taskId)
  await trx.insertInto('task_dependencies').values({ task_id: taskId, depends_on_id: dependsOnId, created_at: now }).execute()
  await trx.updateTable('tasks').set({ status: to, updated_at: now }).where('id', '=', taskId).execute()
  await appendEvent(trx, { taskId, kind: 'dependency_added', from, to, payload: { dependsOnId }, now })
  return toTask(await loadTask(trx, taskId))
}

/**
 * The dependents of `doneTaskId`, sorted by id, for {@link releaseDependentsIn}. Call it before the
 * completion appends its event: where rows are locked it locks the dependents (in id order), so
 * that their unfinished dependencies are counted afterwards in statements that see every
 * completion committed before the lock was granted (of two dependencies completed at once, the
 * transaction that locks the dependent second sees the other done).
 */
export async function dependentsForRelease(trx: Kysely<BoardSchema>, doneTaskId: string): Promise<readonly string[]> {
  if (locksRows(trx)) return (await lockedDependentsOf.execute(trx, { doneTaskId })).rows.map((row) => row.id)
  // Driven from the dependency index alone, sorted here: with a join, a subquery or an ORDER BY the
  // statement was prepared again on every execution (better-sqlite3: 18-30 µs against 5 µs), and
  // most completed tasks have no dependents.
  return (await dependentsOf.execute(trx, { doneTaskId })).rows.map((row) => row.task_id).sort()
}

/**
 * Moves every todo dependent of `doneTaskId` whose dependencies are now all done to ready, with one
 * `promoted` event each. Runs inside the transaction that completed `doneTaskId`, with the
 * dependents {@link dependentsForRelease} returned before the completion's event.
 */
export async function releaseDependentsIn(trx: Kysely<BoardSchema>, doneTaskId: string, now: number, dependents: readonly string[]): Promise<string[]> {
  const promoted: string[] = []
  for (const id of dependents) {
    // A dependent that is not todo changes nothing below.
    if ((await unfinishedDependencyCount(trx, id)) > 0) continue
    const moved = await trx
      .updateTable('tasks')
      .set({ status: 'ready', updated_at: now })
      .where('id', '=', id)
      .where('status', '=', statusLiteral('todo'))
      .executeTakeFirst()
    if (Number(moved.numUpdatedRows) === 0) continue
    assertTransition('promote', 'todo', 'ready', id)
    await appendEvent(trx, { taskId: id, kind: 'promoted', from: 'todo', to: 'ready', payload: { after: doneTaskId }, now })
    promoted.push(id)
  }
  return promoted
}

/** The tasks that depend on `doneTaskId`, in no order. Runs in every completion: compiled once. */
const lockedDependentsOf = new PreparedQuery<BoardSchema, { doneTaskId: string }, { id: string }>((db, params) =>
  db
    .selectFrom('tasks')
    .select('id')
    .where('id', 'in', (eb) => eb.selectFrom('task_dependencies').select('task_id').where('depends_on_id', '=', params.doneTaskId))
    .orderBy('id')
    .forNoKeyUpdate(),
)

const dependentsOf = new PreparedQuery<BoardSchema, { doneTaskId: string }, { task_id: string }>((db, params) =>
  db.selectFrom('task_dependencies').select('task_id').where('depends_on_id', '=', params.doneTaskId),
)

function cycle(taskId: string, dependsOnId: string): DependencyCycle {
  return new DependencyCycle(
    `Task ${taskId} cannot depend on ${dependsOnId}: ${taskId === dependsOnId ? 'a task cannot depend on itself' : `${dependsOnId} already depends on ${taskId}, directly or through other tasks`}. Nothing was written.`,
    { details: { taskId, dependsOnId } },
  )
}

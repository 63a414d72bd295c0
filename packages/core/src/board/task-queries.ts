import type { Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
import { TaskNotFound } from '../errors/errors.js'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { statusLiteral } from './literals.js'
import { forUpdate } from './row-locks.js'

/**
 * The task row, or `TaskNotFound`. For operations inside a write: where the engine locks rows, the
 * row stays locked until the write ends, so what the operation decides from it still holds.
 */
export async function loadTask(db: Kysely<BoardSchema>, taskId: string): Promise<TaskRow> {
  const row = (await taskByIdLocked.execute(db, { taskId })).rows[0]
  if (!row) throw taskNotFound(taskId)
  return row
}

/** The task row, or undefined when there is none. */
export async function loadTaskIfAny(db: Kysely<BoardSchema>, taskId: string): Promise<TaskRow | undefined> {
  return (await taskById.execute(db, { taskId })).rows[0]
}

const taskById = new PreparedQuery<BoardSchema, { taskId: string }, TaskRow>((db, params) => db.selectFrom('tasks').selectAll().where('id', '=', params.taskId))

/** The task row, locked until the write ends where the engine locks rows (see `row-locks.ts`). */
const taskByIdLocked = new PreparedQuery<BoardSchema, { taskId: string }, TaskRow>((db, params) =>
  forUpdate(db, db.selectFrom('tasks').selectAll().where('id', '=', params.taskId)),
)

export function taskNotFound(taskId: string): TaskNotFound {
  return new TaskNotFound(`No task with id ${taskId} on this board. Nothing was changed.`, { details: { taskId } })
}

/** How many of the task's dependencies are not done yet. */
export async function unfinishedDependencyCount(db: Kysely<BoardSchema>, taskId: string): Promise<number> {
  const row = (await unfinishedDependencies.execute(db, { taskId })).rows[0]
  return Number(row?.count ?? 0)
}

/**
 * An IN subquery rather than a join: better-sqlite3's SQLite prepared the join again on every
 * execution (about 50 µs against 8 µs). Dependencies are unique per (task, dependency) pair, so the
 * count is the same.
 */
const unfinishedDependencies = new PreparedQuery<BoardSchema, { taskId: string }, { count: number }>((db, params) =>
  db
    .selectFrom('tasks')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('id', 'in', (eb) => eb.selectFrom('task_dependencies').select('depends_on_id').where('task_id', '=', params.taskId))
    .where('status', '<>', statusLiteral('done')),
)

/** The claim fields of a task that no longer has a claim. */
export const NO_CLAIM = Object.freeze({
  claim_token: null,
  claimed_by: null,
  worker_pid: null,
  worker_host: null,
  claimed_at: null,
  claim_expires_at: null,
  lease_ms: null,
  heartbeat_at: null,
})


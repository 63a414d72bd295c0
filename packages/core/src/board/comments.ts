import type { Kysely } from 'kysely'
import type { BoardSchema, CommentRow } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { newId } from './ids.js'
import { loadTask } from './task-queries.js'
import type { TaskStatus } from './transitions.js'
import type { TaskComment } from './types.js'

/**
 * Adds a comment to a task, with one `commented` event (its status stays as it is). Any status
 * takes comments, archived included: a comment changes no status, so the transition table is not
 * involved.
 */
export async function addCommentIn(
  trx: Kysely<BoardSchema>,
  taskId: string,
  body: string,
  author: string | null,
  now: number,
): Promise<TaskComment> {
  const task = await loadTask(trx, taskId)
  const row = await trx
    .insertInto('comments')
    .values({
      id: newId('c_', now),
      task_id: taskId,
      author,
      body,
      created_at: now,
      // Insertion order: the task's row is locked (loadTask) where rows are locked, so no other
      // comment of the task is numbered at the same time.
      seq: nextSeq(trx, taskId),
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  const status = task.status as TaskStatus
  await appendEvent(trx, { taskId, kind: 'commented', from: status, to: status, payload: { commentId: row.id, author }, now })
  return toComment(row)
}

/** The public view of a comment row. */
export function toComment(row: CommentRow): TaskComment {
  return { id: row.id, taskId: row.task_id, author: row.author, body: row.body, createdAt: Number(row.created_at) }
}

/** The next position among the task's comments (1 for the first). */
function nextSeq(trx: Kysely<BoardSchema>, taskId: string) {
  return trx
    .selectFrom('comments')
    .select((eb) => eb(eb.fn.coalesce(eb.fn.max('seq'), eb.lit(0)), '+', 1).as('next'))
    .where('task_id', '=', taskId)
}

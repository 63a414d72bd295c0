import type { Kysely } from 'kysely'
import type { AttachmentRow, BoardSchema } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { newId } from './ids.js'
import { loadTask } from './task-queries.js'
import type { TaskStatus } from './transitions.js'
import type { Attachment } from './types.js'

/** An attachment after validation: its metadata without what the board assigns. */
export type ValidAttachment = Omit<Attachment, 'id' | 'taskId' | 'createdAt'>

/**
 * Records the metadata of a file that belongs to a task (never its bytes), with one
 * `attachment-added` event. Any status takes attachments; the status does not change.
 */
export async function addAttachmentIn(trx: Kysely<BoardSchema>, taskId: string, attachment: ValidAttachment, now: number): Promise<Attachment> {
  const task = await loadTask(trx, taskId)
  const row = await trx
    .insertInto('attachments')
    .values({
      id: newId('a_', now),
      task_id: taskId,
      // Insertion order: the task's row is locked (loadTask) where rows are locked, so no other
      // attachment of the task is numbered at the same time.
      seq: nextSeq(trx, taskId),
      name: attachment.name,
      uri: attachment.uri,
      media_type: attachment.mediaType,
      size_bytes: attachment.sizeBytes,
      sha256: attachment.sha256,
      created_by: attachment.createdBy,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
  const status = task.status as TaskStatus
  await appendEvent(trx, { taskId, kind: 'attachment-added', from: status, to: status, payload: { attachmentId: row.id, name: row.name }, now })
  return toAttachment(row)
}

/** The public view of an attachment row. */
export function toAttachment(row: AttachmentRow): Attachment {
  return {
    id: row.id,
    taskId: row.task_id,
    name: row.name,
    uri: row.uri,
    mediaType: row.media_type,
    sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes),
    sha256: row.sha256,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  }
}

/** The next position among the task's attachments (1 for the first). */
function nextSeq(trx: Kysely<BoardSchema>, taskId: string) {
  return trx
    .selectFrom('attachments')
    .select((eb) => eb(eb.fn.coalesce(eb.fn.max('seq'), eb.lit(0)), '+', 1).as('next'))
    .where('task_id', '=', taskId)
}

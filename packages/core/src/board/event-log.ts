import type { Kysely } from 'kysely'
import type { BoardSchema } from '../schema/board-schema.js'
import type { TaskStatus } from './transitions.js'
import type { EventKind, JsonValue } from './types.js'

/** One event to append. */
export interface EventToAppend {
  readonly taskId: string
  readonly runId?: string | null
  readonly kind: EventKind
  readonly from: TaskStatus | null
  readonly to: TaskStatus | null
  readonly payload?: JsonValue
  readonly now: number
}

/**
 * Appends one event inside the caller's write transaction. Every operation that changes a task
 * calls this exactly once per task it changes, so the log and the tasks can never disagree.
 */
export async function appendEvent(trx: Kysely<BoardSchema>, event: EventToAppend): Promise<void> {
  await trx
    .insertInto('events')
    .values({
      task_id: event.taskId,
      run_id: event.runId ?? null,
      kind: event.kind,
      from_status: event.from,
      to_status: event.to,
      payload: event.payload === undefined ? null : JSON.stringify(event.payload),
      created_at: event.now,
    })
    .execute()
}

import type { Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
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
  await insertEvent.execute(trx, {
    taskId: event.taskId,
    runId: event.runId ?? null,
    kind: event.kind,
    from: event.from,
    to: event.to,
    payload: event.payload === undefined ? null : JSON.stringify(event.payload),
    now: event.now,
  })
}

const insertEvent = new PreparedQuery<
  BoardSchema,
  { taskId: string; runId: string | null; kind: EventKind; from: TaskStatus | null; to: TaskStatus | null; payload: string | null; now: number }
>((db, params) =>
  db.insertInto('events').values({
    task_id: params.taskId,
    run_id: params.runId,
    kind: params.kind,
    from_status: params.from,
    to_status: params.to,
    payload: params.payload,
    created_at: params.now,
  }),
)

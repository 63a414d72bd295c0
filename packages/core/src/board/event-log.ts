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
  /** The payload already as JSON text (instead of `payload`), e.g. one that embeds a stored result. */
  readonly payloadJson?: string
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
    payload: event.payloadJson ?? (event.payload === undefined ? null : JSON.stringify(event.payload)),
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

/** The largest result (as JSON) a `completed` or `approved` event carries whole. */
export const EVENT_RESULT_MAX_BYTES = 8 * 1024
/** How much of a larger result's JSON text the event carries (`resultPreview`). */
export const EVENT_RESULT_PREVIEW_CHARS = 1024

/**
 * The payload of an event that reports a result, as JSON text, so a notifier never has to read the
 * task again: `{"result": <the result>}` when its JSON is at most {@link EVENT_RESULT_MAX_BYTES}
 * bytes, else a bounded summary `{"resultTruncated": true, "resultBytes": n, "resultPreview": "<the
 * first 1,024 characters of its JSON>"}`. `extra` fields come first.
 */
export function resultPayloadJson(resultJson: string | null, extra: Record<string, JsonValue> = {}): string {
  const head = JSON.stringify(extra).slice(0, -1)
  const sep = head.length > 1 ? ',' : ''
  if (resultJson === null) return `${head}${sep}"result":null}`
  const bytes = Buffer.byteLength(resultJson)
  if (bytes <= EVENT_RESULT_MAX_BYTES) return `${head}${sep}"result":${resultJson}}`
  return `${head}${sep}${JSON.stringify({ resultTruncated: true, resultBytes: bytes, resultPreview: resultJson.slice(0, EVENT_RESULT_PREVIEW_CHARS) }).slice(1)}`
}

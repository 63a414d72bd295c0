import type { Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
import type { BoardSchema, NewTaskRow, TaskRow } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { newId } from './ids.js'
import { toTask } from './rows.js'
import { loadTask, loadTaskIfAny } from './task-queries.js'
import { assertTransition, type TaskStatus } from './transitions.js'
import type { CreateTaskInput, Task } from './types.js'
import {
  invalid, objectToJson, optionalBoolean, optionalInteger, optionalString, requireId, requireInteger, requireObject, requireString,
} from './validate.js'

/** A create input after validation: ready to insert. */
export interface ValidTaskInput {
  readonly id: string | undefined
  readonly title: string
  readonly body: string
  readonly priority: number
  readonly assignee: string | null
  readonly createdBy: string | null
  readonly idempotencyKey: string | null
  readonly meta: string
  readonly maxAttempts: number
  readonly dependsOn: readonly string[]
  readonly maxRetries: number | null
  readonly triage: boolean
  readonly dueAt: number | null
  readonly tenant: string | null
  readonly maxRuntimeMs: number | null
}

/** The most tasks one `createTasks` call takes. */
export const MAX_BATCH = 10_000

/** Checks one create input at the boundary; `field` names it in errors (`input`, `inputs[3]`). */
export function validateTaskInput(field: string, value: unknown): ValidTaskInput {
  const input = requireObject(field, value) as Partial<CreateTaskInput>
  const dependsOn = input.dependsOn ?? []
  if (!Array.isArray(dependsOn)) throw invalid(`${field}.dependsOn`, 'expected an array of task ids', dependsOn)
  if (dependsOn.length > 1000) throw invalid(`${field}.dependsOn`, 'at most 1000 dependencies per task')
  const id = input.id === undefined ? undefined : requireId(`${field}.id`, input.id)
  return {
    id,
    title: requireString(`${field}.title`, input.title, { max: 500 }),
    body: optionalString(`${field}.body`, input.body, { min: 0, max: 100_000 }) ?? '',
    priority: optionalInteger(`${field}.priority`, input.priority, 0, { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    assignee: optionalString(`${field}.assignee`, input.assignee, { max: 200 }),
    createdBy: optionalString(`${field}.createdBy`, input.createdBy, { max: 200 }),
    idempotencyKey: optionalString(`${field}.idempotencyKey`, input.idempotencyKey, { max: 200 }),
    meta: input.meta === undefined ? '{}' : objectToJson(`${field}.meta`, input.meta, 64 * 1024),
    maxAttempts: optionalInteger(`${field}.maxAttempts`, input.maxAttempts, 3, { min: 1, max: 1000 }),
    dependsOn: [...new Set(dependsOn.map((dependency, index) => requireId(`${field}.dependsOn[${index}]`, dependency)))].map((dependency) => {
      if (dependency === id) throw invalid(`${field}.dependsOn`, `a task cannot depend on itself (${dependency})`)
      return dependency
    }),
    maxRetries: input.maxRetries === undefined ? null : requireInteger(`${field}.maxRetries`, input.maxRetries, { min: 0, max: 1000 }),
    triage: optionalBoolean(`${field}.triage`, input.triage),
    dueAt: input.dueAt === undefined ? null : requireInteger(`${field}.dueAt`, input.dueAt, { min: 0, max: Number.MAX_SAFE_INTEGER }),
    tenant: optionalString(`${field}.tenant`, input.tenant, { max: 200 }),
    maxRuntimeMs: input.maxRuntimeMs === undefined ? null : requireInteger(`${field}.maxRuntimeMs`, input.maxRuntimeMs, { min: 1, max: 7 * 24 * 60 * 60 * 1000 }),
  }
}

/**
 * Creates tasks in the caller's write transaction, in order, so a task may depend on one created
 * before it in the same batch. A repeated idempotency key returns the existing task unchanged: the
 * unique index on `idempotency_key` decides (INSERT ... ON CONFLICT DO NOTHING), so two creators in
 * any number of processes get the same task and only one row, one event, exists.
 */
export async function createTasksIn(trx: Kysely<BoardSchema>, inputs: readonly ValidTaskInput[], now: number): Promise<Task[]> {
  const created: Task[] = new Array<Task>(inputs.length)
  // Plain inputs (no idempotency key, no id of the caller's, no dependencies) cannot meet an
  // existing row or wait for another task: consecutive ones are written together, their rows with
  // multi-row INSERTs and then their events, in input order. Any other input first writes the plain
  // ones before it, so every task still sees the ones created before it in the batch.
  let plain: { readonly index: number; readonly row: NewTaskRow }[] = []
  const writePlain = async (): Promise<void> => {
    for (let start = 0; start < plain.length; start += ROWS_PER_INSERT) {
      const chunk = plain.slice(start, start + ROWS_PER_INSERT)
      const rows = await insertTaskRows(trx, chunk.map(({ row }) => row))
      await insertCreatedEvents(trx, chunk.map(({ row }) => ({ taskId: row.id, to: row.status as TaskStatus, payload: 'null', now })))
      for (const { index, row } of chunk) {
        const inserted = rows.get(row.id)
        if (!inserted) throw new Error(`kanban-db bug: the insert of ${row.id} has no stored row`)
        created[index] = toTask(inserted)
      }
    }
    plain = []
  }
  for (const [index, input] of inputs.entries()) {
    if (input.idempotencyKey === null && input.id === undefined && input.dependsOn.length === 0) {
      const id = newId('t_', now)
      const status: TaskStatus = input.triage ? 'triage' : input.dueAt !== null && input.dueAt > now ? 'scheduled' : 'ready'
      assertTransition('create', null, status, id)
      plain.push({ index, row: taskRow(id, input, status, now) })
      continue
    }
    await writePlain()
    created[index] = await createOneIn(trx, input, now)
  }
  await writePlain()
  return created
}

/** One task with an idempotency key, an id of the caller's or dependencies: its checks, its row, its event. */
async function createOneIn(trx: Kysely<BoardSchema>, input: ValidTaskInput, now: number): Promise<Task> {
  if (input.idempotencyKey !== null) {
    const existing = (await taskByIdempotencyKey.execute(trx, { key: input.idempotencyKey })).rows[0]
    if (existing) return toTask(existing)
  }
  const id = input.id ?? newId('t_', now)
  if (input.id !== undefined) {
    const clash = (await loadTaskIfAny(trx, id)) !== undefined
    if (clash) throw invalid('id', `a task with id ${id} already exists`, id)
  }
  // In id order: where rows are locked, two creators locking the same dependencies never wait for
  // each other in a cycle.
  let unfinished = 0
  for (const dependency of [...input.dependsOn].sort()) {
    if ((await loadTask(trx, dependency)).status !== 'done') unfinished++
  }
  const status: TaskStatus = input.triage ? 'triage' : input.dueAt !== null && input.dueAt > now ? 'scheduled' : unfinished > 0 ? 'todo' : 'ready'
  assertTransition('create', null, status, id)
  const inserted = (await insertTask.execute(trx, taskRow(id, input, status, now))).rows[0]
  if (!inserted) {
    // On SQLite the read above already saw the key; on Postgres a concurrent creator of the same
    // key made the INSERT wait for its commit and then do nothing: read its task.
    const existing = (await taskByIdempotencyKey.execute(trx, { key: input.idempotencyKey! })).rows[0]
    if (!existing) throw new Error(`kanban-db bug: the insert of ${id} changed nothing, yet no task has its idempotency key`)
    return toTask(existing)
  }
  if (input.dependsOn.length > 0) {
    await trx
      .insertInto('task_dependencies')
      .values(input.dependsOn.map((dependency) => ({ task_id: id, depends_on_id: dependency, created_at: now })))
      .execute()
  }
  await appendEvent(trx, {
    taskId: id,
    kind: 'created',
    from: null,
    to: status,
    payload: input.dependsOn.length > 0 ? { dependsOn: [...input.dependsOn] } : null,
    now,
  })
  return toTask(inserted)
}

/** The task row of a validated input. */
function taskRow(id: string, input: ValidTaskInput, status: TaskStatus, now: number): NewTaskRow {
  return {
    id,
    title: input.title,
    body: input.body,
    status,
    priority: input.priority,
    assignee: input.assignee,
    created_by: input.createdBy,
    idempotency_key: input.idempotencyKey,
    meta: input.meta,
    created_at: now,
    updated_at: now,
    attempts: 0,
    max_attempts: input.maxAttempts,
    max_retries: input.maxRetries,
    due_at: input.dueAt,
    tenant: input.tenant,
    max_runtime_ms: input.maxRuntimeMs,
  }
}

/**
 * Rows per multi-row INSERT: 50 task rows bind 850 values, under the 999 bound variables of SQLite
 * builds older than 3.32 (newer ones allow 32,766; PostgreSQL 65,535).
 */
const ROWS_PER_INSERT = 50

const TASK_COLUMNS = [
  'id', 'title', 'body', 'status', 'priority', 'assignee', 'created_by', 'idempotency_key', 'meta', 'created_at',
  'updated_at', 'attempts', 'max_attempts', 'max_retries', 'due_at', 'tenant', 'max_runtime_ms',
] as const satisfies readonly (keyof NewTaskRow)[]

/**
 * The values of a multi-row INSERT, row after row in column order, as one flat array: its
 * prepared query names each value by its position (`params[n]`), so binding 850 values fills an
 * array instead of an object with 850 keys.
 */
type FlatValues = (string | number | null)[]

/** Multi-row INSERTs of task rows and of `created` events, one compiled query per row count. */
const taskInserts = new Map<number, PreparedQuery<BoardSchema, FlatValues>>()
const eventInserts = new Map<number, PreparedQuery<BoardSchema, FlatValues>>()

/**
 * What a fresh task row holds in every column createTasks does not write: the schema's defaults
 * (SQLite's and PostgreSQL's migrations agree). Typed over every column of the table but the
 * written ones, so a column added to `TaskTable` does not compile until it is given here; the
 * batch tests compare each created task with what `getTask` reads back, on every engine.
 */
const UNWRITTEN_COLUMNS: Omit<TaskRow, (typeof TASK_COLUMNS)[number]> = {
  started_at: null, completed_at: null, claim_token: null, claimed_by: null, worker_pid: null, worker_host: null, claimed_at: null,
  claim_expires_at: null, lease_ms: null, heartbeat_at: null, current_run_id: null, result: null, last_error: null, block_reason: null,
  consecutive_failures: 0, block_kind: null, block_recurrences: 0, review_requested_by: null, review_summary: null, review_rejections: 0,
  not_before: null, archived_idempotency_key: null,
}

/**
 * Inserts `rows` (fresh ids, no idempotency key, so nothing can conflict) with one statement and
 * returns them as stored, built from the values written and {@link UNWRITTEN_COLUMNS}: reading every
 * inserted row back (`RETURNING *`) cost about a quarter of a batch's time.
 */
async function insertTaskRows(trx: Kysely<BoardSchema>, rows: readonly NewTaskRow[]): Promise<Map<string, TaskRow>> {
  let query = taskInserts.get(rows.length)
  if (!query) {
    const count = rows.length
    query = new PreparedQuery<BoardSchema, FlatValues>((db, params) =>
      db.insertInto('tasks').values(
        Array.from({ length: count }, (_, i) =>
          Object.fromEntries(TASK_COLUMNS.map((column, c) => [column, params[i * TASK_COLUMNS.length + c]])) as unknown as NewTaskRow,
        ),
      ),
    )
    taskInserts.set(count, query)
  }
  const values: FlatValues = []
  const stored = new Map<string, TaskRow>()
  for (const row of rows) {
    const full: Record<string, unknown> = { ...UNWRITTEN_COLUMNS }
    for (const column of TASK_COLUMNS) {
      const value = (row[column] ?? null) as string | number | null
      values.push(value)
      full[column] = value
    }
    stored.set(row.id, full as unknown as TaskRow)
  }
  const { numAffectedRows } = await query.execute(trx, values)
  if (numAffectedRows !== undefined && Number(numAffectedRows) !== rows.length) {
    throw new Error(`kanban-db bug: a multi-row insert of ${rows.length} tasks inserted ${numAffectedRows}`)
  }
  return stored
}

/** The values of a `created` event that vary from task to task. */
const EVENT_VALUES = 4

/** One `created` event per task, in order, with one statement (as appendEvent writes each). */
async function insertCreatedEvents(
  trx: Kysely<BoardSchema>, events: readonly { taskId: string; to: TaskStatus; payload: string; now: number }[],
): Promise<void> {
  let query = eventInserts.get(events.length)
  if (!query) {
    const count = events.length
    query = new PreparedQuery<BoardSchema, FlatValues>((db, params) =>
      db.insertInto('events').values(
        Array.from({ length: count }, (_, i) => ({
          task_id: params[i * EVENT_VALUES] as string,
          run_id: null,
          kind: 'created',
          from_status: null,
          to_status: params[i * EVENT_VALUES + 1] as TaskStatus,
          payload: params[i * EVENT_VALUES + 2] as string,
          created_at: params[i * EVENT_VALUES + 3] as number,
        })),
      ),
    )
    eventInserts.set(count, query)
  }
  const values: FlatValues = []
  for (const event of events) values.push(event.taskId, event.to, event.payload, event.now)
  await query.execute(trx, values)
}

const taskByIdempotencyKey = new PreparedQuery<BoardSchema, { key: string }, TaskRow>((db, params) =>
  db.selectFrom('tasks').selectAll().where('idempotency_key', '=', params.key),
)

/**
 * One task row, unless its idempotency key is taken. Compiled once: a batch of 1,000 tasks ran this
 * INSERT 1,000 times, each built and compiled anew. Every column is always given (null where unset),
 * so the statement has one shape.
 */
const insertTask = new PreparedQuery<BoardSchema, NewTaskRow, TaskRow>((db, params) =>
  db
    .insertInto('tasks')
    .values({
      id: params.id,
      title: params.title,
      body: params.body,
      status: params.status,
      priority: params.priority,
      assignee: params.assignee,
      created_by: params.created_by,
      idempotency_key: params.idempotency_key,
      meta: params.meta,
      created_at: params.created_at,
      updated_at: params.updated_at,
      attempts: params.attempts,
      max_attempts: params.max_attempts,
      max_retries: params.max_retries,
      due_at: params.due_at,
      tenant: params.tenant,
      max_runtime_ms: params.max_runtime_ms,
    })
    .onConflict((conflict) => conflict.column('idempotency_key').doNothing())
    .returningAll(),
)

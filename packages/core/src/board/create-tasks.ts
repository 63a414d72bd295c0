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
  const created: Task[] = []
  for (const input of inputs) {
    if (input.idempotencyKey !== null) {
      const existing = (await taskByIdempotencyKey.execute(trx, { key: input.idempotencyKey })).rows[0]
      if (existing) {
        created.push(toTask(existing))
        continue
      }
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
    const row: NewTaskRow = {
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
    const inserted = (await insertTask.execute(trx, row)).rows[0]
    if (!inserted) {
      // On SQLite the read above already saw the key; on Postgres a concurrent creator of the same
      // key made the INSERT wait for its commit and then do nothing: read its task.
      const existing = (await taskByIdempotencyKey.execute(trx, { key: input.idempotencyKey! })).rows[0]
      if (!existing) throw new Error(`kanban-db bug: the insert of ${id} changed nothing, yet no task has its idempotency key`)
      created.push(toTask(existing))
      continue
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
    created.push(toTask(inserted))
  }
  return created
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

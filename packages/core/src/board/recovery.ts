import type { Kysely } from 'kysely'
import { InvalidTransition } from '../errors/errors.js'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { toTask } from './rows.js'
import { endRun } from './runs.js'
import { loadTask, NO_CLAIM, unfinishedDependencyCount } from './task-queries.js'
import { forUpdate, lockDependencyGraph } from './row-locks.js'
import { assertCanStart, assertTransition, type TaskStatus } from './transitions.js'
import type { DeletedTask, PrunedEvents, Task } from './types.js'
import { statusLiteral } from './literals.js'

// Operators' recovery: what a person (or an operator's script) does to a board when work is stuck.
// Each call is one transaction that locks what it decides about (see row-locks.ts) and writes one
// event per task it changes.

/**
 * Gives the task to `assignee` (null: any claimer). The status stays; the consecutive failure count
 * starts again (a new assignee is a fresh start). Not while it runs: reclaim it first.
 */
export async function reassignIn(trx: Kysely<BoardSchema>, taskId: string, assignee: string | null, reason: string | null, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  if (from === 'running') throw liveClaim(task, 'reassign')
  assertCanStart('reassign', from, taskId)
  assertTransition('reassign', from, from, taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({ assignee, consecutive_failures: 0, updated_at: now })
    .where('id', '=', taskId)
    .returningAll()
    .executeTakeFirstOrThrow()
  await appendEvent(trx, {
    taskId,
    kind: 'reassigned',
    from,
    to: from,
    payload: { fromAssignee: task.assignee, toAssignee: assignee, reason, consecutiveFailures: Number(task.consecutive_failures) },
    now,
  })
  return toTask(updated)
}

/**
 * Takes a live claim back by hand, with a reason: a running task goes back to ready (counting
 * neither a failure nor an attempt, like `release`), a reviewer's claim ends and the task waits in
 * review for another reviewer. The run ends as `reclaimed`; its token is refused from then on
 * (`ClaimMismatch`, saying the attempt was reclaimed).
 */
export async function reclaimIn(trx: Kysely<BoardSchema>, taskId: string, reason: string, retryAfterMs: number, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('reclaim', from, taskId)
  if (task.claim_token === null) {
    throw new InvalidTransition(
      `Cannot reclaim task ${taskId}: it is in review with no reviewer's claim to take back. It waits for a reviewer; nothing was changed.`,
      { details: { taskId, action: 'reclaim', from } },
    )
  }
  const to: TaskStatus = from === 'running' ? 'ready' : 'review'
  assertTransition('reclaim', from, to, taskId)
  const notBefore = to === 'ready' && retryAfterMs > 0 ? now + retryAfterMs : null
  const updated = await trx
    .updateTable('tasks')
    .set((eb) => ({
      ...NO_CLAIM,
      status: to,
      ...(to === 'ready' ? { attempts: eb('attempts', '-', 1), not_before: notBefore } : {}),
      updated_at: now,
    }))
    .where('id', '=', taskId)
    .where('claim_token', '=', task.claim_token)
    .returningAll()
    .executeTakeFirstOrThrow()
  await endRun(trx, task.current_run_id, 'reclaimed', now, reason)
  await appendEvent(trx, {
    taskId,
    runId: task.current_run_id,
    kind: 'reclaimed',
    from,
    to,
    payload: {
      reason,
      workerId: task.claimed_by,
      pid: task.worker_pid === null ? null : Number(task.worker_pid),
      host: task.worker_host,
      attempt: Number(task.attempts),
      claimExpiresAt: task.claim_expires_at === null ? null : Number(task.claim_expires_at),
      heartbeatAt: task.heartbeat_at === null ? null : Number(task.heartbeat_at),
      notBefore,
    },
    now,
  })
  return toTask(updated)
}

/**
 * Removes the dependency of `taskId` on `dependsOnId`; a todo task whose dependencies are now all
 * done becomes ready in the same transaction (one `dependency_removed` event either way). An edge
 * that does not exist changes nothing and writes no event.
 */
export async function removeDependencyIn(trx: Kysely<BoardSchema>, taskId: string, dependsOnId: string, now: number): Promise<Task> {
  await lockDependencyGraph(trx)
  // The dependency's row before the task's, as addDependency and a completion take them.
  await loadTask(trx, dependsOnId)
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('undepend', from, taskId)
  const removed = await trx.deleteFrom('task_dependencies').where('task_id', '=', taskId).where('depends_on_id', '=', dependsOnId).executeTakeFirst()
  if (Number(removed.numDeletedRows) === 0) return toTask(task)
  const to = await afterEdgeRemoved(trx, task, dependsOnId, { dependsOnId }, now)
  return to === from ? toTask(task) : toTask(await loadTask(trx, taskId))
}

/** After an edge of `task` went: todo -> ready when nothing is open any more; one event. Returns the status. */
async function afterEdgeRemoved(trx: Kysely<BoardSchema>, task: TaskRow, dependsOnId: string, payload: Record<string, string | boolean>, now: number): Promise<TaskStatus> {
  const from = task.status as TaskStatus
  const to: TaskStatus = from === 'todo' && (await unfinishedDependencyCount(trx, task.id)) === 0 ? 'ready' : from
  assertTransition('undepend', from, to, task.id)
  if (to !== from) await trx.updateTable('tasks').set({ status: to, updated_at: now }).where('id', '=', task.id).where('status', '=', statusLiteral('todo')).execute()
  else await trx.updateTable('tasks').set({ updated_at: now }).where('id', '=', task.id).execute()
  await appendEvent(trx, { taskId: task.id, kind: 'dependency_removed', from, to, payload: { ...payload, dependsOnId }, now })
  return to
}

/**
 * Deletes the task with its runs, events, comments, attachments and dependency edges (the foreign
 * keys cascade). Refused while a claim is live (`InvalidTransition`: reclaim it first). Its events go
 * with it; each dependent that loses its edge gets one `dependency_removed` event, and one whose
 * dependencies are then all done becomes ready in the same transaction.
 */
export async function deleteTaskIn(trx: Kysely<BoardSchema>, taskId: string, now: number): Promise<DeletedTask> {
  await lockDependencyGraph(trx)
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  if (task.claim_token !== null) throw liveClaim(task, 'delete')
  assertCanStart('delete', from, taskId)
  // Its dependents after it, in id order: the order a completion locks them in.
  const dependents = await forUpdate(
    trx,
    trx
      .selectFrom('tasks')
      .selectAll()
      .where('id', 'in', (eb) => eb.selectFrom('task_dependencies').select('task_id').where('depends_on_id', '=', taskId))
      .orderBy('id'),
  ).execute()
  const count = async (table: 'task_runs' | 'events' | 'comments' | 'attachments') =>
    Number((await trx.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('task_id', '=', taskId).executeTakeFirstOrThrow()).n)
  const edges = await trx
    .selectFrom('task_dependencies')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb.or([eb('task_id', '=', taskId), eb('depends_on_id', '=', taskId)]))
    .executeTakeFirstOrThrow()
  const deleted = { runs: await count('task_runs'), events: await count('events'), comments: await count('comments'), attachments: await count('attachments') }
  await trx.deleteFrom('tasks').where('id', '=', taskId).execute()
  const promoted: string[] = []
  for (const dependent of dependents) {
    if ((await afterEdgeRemoved(trx, dependent, taskId, { deleted: true }, now)) !== dependent.status) promoted.push(dependent.id)
  }
  return { taskId, ...deleted, dependencies: Number(edges.n), promoted }
}

/**
 * Deletes old events: those created more than `olderThanMs` ago, and those beyond the newest
 * `keepLatest`, but never one after the lowest subscriber cursor, so every subscriber still gets
 * every event it has not acknowledged (a batch leased and not yet acknowledged is after its cursor).
 * Not a task's state change: no event is written.
 */
export async function pruneEventsIn(
  trx: Kysely<BoardSchema>,
  options: { readonly olderThanMs: number | undefined; readonly keepLatest: number | undefined },
  now: number,
): Promise<PrunedEvents> {
  const floorRow = await trx.selectFrom('subscriptions').select((eb) => eb.fn.min('last_event_id').as('floor')).executeTakeFirst()
  const cursorFloor = floorRow?.floor === null || floorRow?.floor === undefined ? undefined : Number(floorRow.floor)
  let beyondCount: number | undefined
  if (options.keepLatest !== undefined) {
    const threshold = await trx.selectFrom('events').select('id').orderBy('id', 'desc').limit(1).offset(options.keepLatest).executeTakeFirst()
    beyondCount = threshold === undefined ? undefined : Number(threshold.id)
  }
  const olderThan = options.olderThanMs === undefined ? undefined : now - options.olderThanMs
  if (beyondCount === undefined && olderThan === undefined) return { deleted: 0, cursorFloor }
  const result = await trx
    .deleteFrom('events')
    .where((eb) => {
      const either = []
      if (olderThan !== undefined) either.push(eb('created_at', '<', olderThan))
      if (beyondCount !== undefined) either.push(eb('id', '<=', beyondCount))
      const prune = eb.or(either)
      return cursorFloor === undefined ? prune : eb.and([prune, eb('id', '<=', cursorFloor)])
    })
    .executeTakeFirst()
  return { deleted: Number(result.numDeletedRows), cursorFloor }
}

function liveClaim(task: TaskRow, action: 'reassign' | 'delete'): InvalidTransition {
  return new InvalidTransition(
    `Cannot ${action} task ${task.id}: it is ${task.status} under the live claim of ${task.claimed_by} (lease until ${Number(task.claim_expires_at)}). ` +
      `Take the claim back first with reclaim(${JSON.stringify(task.id)}, reason), then ${action} it. The task was not changed.`,
    { details: { taskId: task.id, action, from: task.status, claimedBy: task.claimed_by } },
  )
}


import type { Kysely } from 'kysely'
import type { BoardSchema } from '../schema/board-schema.js'
import { requireClaim } from './claims.js'
import { addDependencyIn } from './dependencies.js'
import { appendEvent } from './event-log.js'
import { toTask } from './rows.js'
import { endRun } from './runs.js'
import { loadTask, NO_CLAIM, unfinishedDependencyCount } from './task-queries.js'
import { lockDependencyGraph } from './row-locks.js'
import { assertCanStart, assertTransition, type TaskStatus } from './transitions.js'
import type { Task } from './types.js'

/** A block request after validation. */
export interface ValidBlock {
  readonly reason: string
  readonly claimToken: string | undefined
  /** Null: no kind, so no loop detection. */
  readonly kind: string | null
  readonly dependsOn: readonly string[]
}

/** The block kind that sends a task back to todo instead of blocked. */
export const DEPENDENCY_BLOCK = 'dependency'

/** Blocks in a row of one kind that make a block loop (the task goes to triage). */
export const BLOCK_LOOP_RECURRENCES = 2

/**
 * Parks a todo, ready or running task with a reason. A running task's claim ends (its run closes as
 * `blocked`); when `claimToken` is given it must be the current claim.
 *
 * With a kind: the same kind twice in a row is a block loop and sends the task to triage; kind
 * `dependency` adds `dependsOn` and sends the task to todo (ready when no dependency is open).
 */
export async function blockIn(trx: Kysely<BoardSchema>, taskId: string, block: ValidBlock, now: number): Promise<Task> {
  if (block.kind === DEPENDENCY_BLOCK && block.dependsOn.length > 0) {
    // Where rows are locked: the graph, then the dependencies, then the task (see addDependencyIn),
    // the order every other operation takes them in.
    await lockDependencyGraph(trx)
    for (const dependsOnId of [...block.dependsOn].sort()) await loadTask(trx, dependsOnId)
  }
  const task = block.claimToken === undefined ? await loadTask(trx, taskId) : await requireClaim(trx, taskId, block.claimToken, 'block')
  const from = task.status as TaskStatus
  assertCanStart('block', from, taskId)
  const recurrences = block.kind === null ? 0 : task.block_kind === block.kind ? Number(task.block_recurrences) + 1 : 1
  const loop = block.kind !== null && block.kind !== DEPENDENCY_BLOCK && recurrences >= BLOCK_LOOP_RECURRENCES
  let to: TaskStatus = block.kind === DEPENDENCY_BLOCK ? 'todo' : loop ? 'triage' : 'blocked'
  assertTransition('block', from, to, taskId)
  const running = from === 'running'
  await trx
    .updateTable('tasks')
    .set({ ...(running ? NO_CLAIM : {}), status: to, block_reason: block.reason, block_kind: block.kind, block_recurrences: recurrences, updated_at: now })
    .where('id', '=', taskId)
    .where('status', '=', from)
    .executeTakeFirstOrThrow()
  if (to === 'todo') {
    for (const dependsOnId of block.dependsOn) await addDependencyIn(trx, taskId, dependsOnId, now)
    if ((await unfinishedDependencyCount(trx, taskId)) === 0) {
      to = 'ready'
      assertTransition('block', from, to, taskId)
      await trx.updateTable('tasks').set({ status: to }).where('id', '=', taskId).execute()
    }
  }
  if (running) await endRun(trx, task.current_run_id, 'blocked', now, block.reason)
  await appendEvent(trx, {
    taskId,
    runId: running ? task.current_run_id : null,
    kind: 'blocked',
    from,
    to,
    payload: block.kind === null ? { reason: block.reason } : { reason: block.reason, kind: block.kind, recurrences, loopDetected: loop },
    now,
  })
  return toTask(await loadTask(trx, taskId))
}

/** Takes a blocked task back to ready, or to todo while a dependency is not done. */
export async function unblockIn(trx: Kysely<BoardSchema>, taskId: string, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('unblock', from, taskId)
  const to: TaskStatus = (await unfinishedDependencyCount(trx, taskId)) > 0 ? 'todo' : 'ready'
  assertTransition('unblock', from, to, taskId)
  const updated = await trx
    .updateTable('tasks')
    .set({ status: to, block_reason: null, consecutive_failures: 0, updated_at: now })
    .where('id', '=', taskId)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirstOrThrow()
  await appendEvent(trx, { taskId, kind: 'unblocked', from, to, payload: { reason: task.block_reason }, now })
  return toTask(updated)
}

/** Puts a task away for good. A running task's claim ends (its run closes as `archived`). */
export async function archiveIn(trx: Kysely<BoardSchema>, taskId: string, now: number): Promise<Task> {
  const task = await loadTask(trx, taskId)
  const from = task.status as TaskStatus
  assertCanStart('archive', from, taskId)
  assertTransition('archive', from, 'archived', taskId)
  const running = from === 'running'
  const updated = await trx
    .updateTable('tasks')
    // The idempotency key is freed (kept as archived_idempotency_key, still shown as the task's
    // idempotencyKey): a create with the same key makes a new task, as on the Python board.
    .set((eb) => ({
      ...(running ? NO_CLAIM : {}),
      status: 'archived',
      archived_idempotency_key: eb.fn.coalesce('idempotency_key', 'archived_idempotency_key'),
      idempotency_key: null,
      updated_at: now,
    }))
    .where('id', '=', taskId)
    .where('status', '=', from)
    .returningAll()
    .executeTakeFirstOrThrow()
  if (running) await endRun(trx, task.current_run_id, 'archived', now)
  await appendEvent(trx, { taskId, runId: running ? task.current_run_id : null, kind: 'archived', from, to: 'archived', now })
  return toTask(updated)
}

import { InvalidTransition } from '../errors/errors.js'

import type { TaskStatus } from '../schema/task-status.js'

export { TASK_STATUSES, type TaskStatus } from '../schema/task-status.js'

/** What an operation does to a task; each is one row of {@link transitions}. */
export type TaskAction =
  | 'create'
  | 'depend'
  | 'promote'
  | 'claim'
  | 'heartbeat'
  | 'complete'
  | 'fail'
  | 'release'
  | 'expire'
  | 'crash'
  | 'block'
  | 'unblock'
  | 'archive'
  | 'accept'
  | 'schedule'
  | 'due'
  | 'request-review'
  | 'claim-review'
  | 'release-review'
  | 'approve'
  | 'reject'
  | 'reassign'
  | 'reclaim'
  | 'undepend'
  | 'delete'

/** The statuses an action starts from and the statuses it may lead to. */
export interface Transition {
  readonly from: readonly TaskStatus[]
  readonly to: readonly TaskStatus[]
  /** What the action is, for error messages and the README. */
  readonly description: string
}

/**
 * THE transition table: every operation consults it before it changes a task, and an action not
 * allowed from the task's status raises `InvalidTransition` and changes nothing. To add a status
 * (triage, scheduled, review), add it to `TaskStatus` and add or extend rows here.
 *
 * `create` starts from no status: its `from` is empty and {@link assertTransition} is given `null`.
 */
export const transitions: Readonly<Record<TaskAction, Transition>> = {
  create: {
    from: [],
    to: ['triage', 'todo', 'scheduled', 'ready'],
    description: 'a new task is triage when asked, scheduled while its due time is ahead, todo while a dependency is not done, else ready',
  },
  depend: { from: ['triage', 'todo', 'scheduled', 'ready', 'blocked'], to: ['triage', 'todo', 'scheduled', 'ready', 'blocked'], description: 'adding a dependency that is not done moves a ready task back to todo' },
  promote: { from: ['todo'], to: ['ready'], description: 'the last dependency became done (in the completing transaction)' },
  claim: { from: ['ready'], to: ['running'], description: 'a worker takes the task with a lease (claimNext; never a scheduled task before its due time)' },
  heartbeat: { from: ['running', 'review'], to: ['running', 'review'], description: 'the claim holder (a worker, or a reviewer of a review) extends its lease' },
  complete: { from: ['running'], to: ['done'], description: 'the claim holder finished; dependents are released in the same transaction' },
  fail: {
    from: ['running'],
    to: ['ready', 'blocked', 'failed'],
    description: 'the claim holder failed: retried while attempts remain, blocked (gave-up) past maxRetries consecutive failures, else failed; a rate-limited outcome requeues without counting',
  },
  release: { from: ['running'], to: ['ready'], description: 'the claim holder hands the task back unfinished (a worker shutting down); neither a failure nor an attempt is counted' },
  expire: { from: ['running'], to: ['ready', 'failed'], description: 'the lease ran out (releaseStaleClaims); not counted as a consecutive failure' },
  crash: { from: ['running'], to: ['ready', 'blocked', 'failed'], description: 'the worker process is gone (detectCrashedWorkers); counts as a failure' },
  block: {
    from: ['todo', 'ready', 'running'],
    to: ['blocked', 'triage', 'todo', 'ready'],
    description: 'parked with a reason; the same block kind twice in a row goes to triage, kind dependency back to todo (ready when no dependency is open); a running claim is ended',
  },
  unblock: { from: ['blocked'], to: ['ready', 'todo'], description: 'back to ready, or todo while a dependency is not done' },
  archive: {
    from: ['triage', 'todo', 'scheduled', 'ready', 'running', 'review', 'blocked', 'done', 'failed'],
    to: ['archived'],
    description: 'put away for good; a running claim is ended',
  },
  accept: { from: ['triage'], to: ['ready', 'todo'], description: 'a person accepted a triaged task: ready, or todo while a dependency is not done' },
  schedule: { from: ['triage', 'todo', 'ready', 'blocked'], to: ['scheduled'], description: 'not claimable before its due time' },
  due: { from: ['scheduled'], to: ['ready', 'todo'], description: 'the due time came (on the next claim or promoteScheduled): ready, or todo while a dependency is not done' },
  'request-review': { from: ['running'], to: ['review'], description: 'the claim holder finished its attempt and asks for review; the claim ends' },
  'claim-review': { from: ['review'], to: ['review'], description: 'a reviewer (never the worker that did the work) takes the review with a lease' },
  'release-review': { from: ['review'], to: ['review'], description: "a reviewer's lease ran out; the task waits for another reviewer" },
  approve: { from: ['review'], to: ['done'], description: 'the reviewer approved; dependents are released in the same transaction' },
  reject: {
    from: ['review'],
    to: ['ready', 'triage'],
    description: 'the reviewer rejected with reasons: back to ready for a fix, or to triage at the rejection limit',
  },
  reassign: {
    from: ['triage', 'todo', 'scheduled', 'ready', 'blocked'],
    to: ['triage', 'todo', 'scheduled', 'ready', 'blocked'],
    description: 'an operator gives the task to another assignee (or to any claimer); the status stays, the consecutive failure count starts again',
  },
  reclaim: {
    from: ['running', 'review'],
    to: ['ready', 'review'],
    description: "an operator takes a live claim back with a reason: a running task is ready again (no failure, no attempt counted), a reviewer's claim ends and the task waits for another reviewer; the old token is refused from then on",
  },
  undepend: {
    from: ['triage', 'todo', 'scheduled', 'ready', 'running', 'review', 'blocked', 'done', 'failed', 'archived'],
    to: ['triage', 'todo', 'scheduled', 'ready', 'running', 'review', 'blocked', 'done', 'failed', 'archived'],
    description: 'an operator removes a dependency: a todo task whose dependencies are now all done becomes ready in the same transaction; any other status stays',
  },
  delete: {
    from: ['triage', 'todo', 'scheduled', 'ready', 'review', 'blocked', 'done', 'failed', 'archived'],
    to: [],
    description: 'an operator deletes the task with its runs, events, comments, attachments and dependency edges (never under a live claim: reclaim it first); dependents left with no open dependency become ready',
  },
}

/** True when `action` may move a task from `from` to `to`. */
export function canTransition(action: TaskAction, from: TaskStatus | null, to: TaskStatus): boolean {
  const transition = transitions[action]
  const fromAllowed = from === null ? transition.from.length === 0 : transition.from.includes(from)
  return fromAllowed && transition.to.includes(to)
}

/** True when `action` may start from `from` (whatever it leads to). */
export function canStart(action: TaskAction, from: TaskStatus): boolean {
  return transitions[action].from.includes(from)
}

/** Throws `InvalidTransition` unless `action` may start from `from`. */
export function assertCanStart(action: TaskAction, from: TaskStatus, taskId: string): void {
  if (!canStart(action, from)) throw invalidTransition(action, from, taskId)
}

/** Throws `InvalidTransition` unless `action` may move the task from `from` to `to`. */
export function assertTransition(action: TaskAction, from: TaskStatus | null, to: TaskStatus, taskId: string): void {
  if (!canTransition(action, from, to)) throw invalidTransition(action, from, taskId, to)
}

function invalidTransition(action: TaskAction, from: TaskStatus | null, taskId: string, to?: TaskStatus): InvalidTransition {
  const allowed = transitions[action].from
  return new InvalidTransition(
    `Cannot ${action} task ${taskId}: it is ${from ?? 'new'}${to ? ` and ${action} may not make it ${to}` : ''}; ` +
      `${action} applies to ${allowed.length > 0 ? allowed.join(', ') : 'new tasks only'} tasks. The task was not changed.`,
    { details: { taskId, action, from, to, allowedFrom: allowed } },
  )
}

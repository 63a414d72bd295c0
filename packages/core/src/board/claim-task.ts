import type { Kysely } from 'kysely'
import { InvalidTransition } from '../errors/errors.js'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { openRun, type ClaimValues } from './claims.js'
import { appendEvent } from './event-log.js'
import { newClaimToken, newId } from './ids.js'
import { toTask } from './rows.js'
import { loadTask, unfinishedDependencyCount } from './task-queries.js'
import { assertTransition, type TaskStatus } from './transitions.js'
import type { ClaimedTask } from './types.js'
import { statusLiteral } from './literals.js'

/** A `claim(taskId, ...)` request after validation. */
export interface ValidTaskClaim {
  readonly workerId: string
  readonly pid: number
  readonly host: string
  readonly leaseMs: number
}

/**
 * Claims the task the caller picked (a dispatcher that chooses itself), with `claimNext`'s
 * semantics: a ready task whose backoff has passed becomes running under a new claim token and
 * lease, with a run and a `claimed` event, in the caller's transaction. A scheduled task whose due
 * time has come is made due first (its `due` event), as `claimNext` would. Where rows are locked the
 * task's row is locked before it is looked at, so of two claimers of one task the second waits,
 * then finds it running and is refused. A task that is not claimable is `InvalidTransition`, saying
 * why (running under whose claim, waiting for which dependencies, scheduled or backing off until
 * when), and nothing is written.
 */
export async function claimTaskIn(trx: Kysely<BoardSchema>, taskId: string, claim: ValidTaskClaim, now: number): Promise<ClaimedTask> {
  let task = await loadTask(trx, taskId)
  if (task.status === 'scheduled' && task.due_at !== null && Number(task.due_at) <= now) task = await makeDue(trx, task, now)
  if (task.status !== 'ready') throw await notClaimable(trx, task, now)
  if (task.not_before !== null && Number(task.not_before) > now) {
    throw new InvalidTransition(
      `Cannot claim task ${taskId}: it is ready but not claimable before ${Number(task.not_before)} (${new Date(Number(task.not_before)).toISOString()}), ` +
        'the backoff of its last failure or a rate limit\'s cooldown. Claim it after that, or another task now. The task was not changed.',
      { details: { taskId, action: 'claim', from: 'ready', notBefore: Number(task.not_before) } },
    )
  }
  assertTransition('claim', 'ready', 'running', taskId)
  const claimToken = newClaimToken()
  const runId = newId('r_', now)
  const values: ClaimValues = { claimToken, workerId: claim.workerId, pid: claim.pid, host: claim.host, now, expiresAt: now + claim.leaseMs, leaseMs: claim.leaseMs, runId }
  const claimed = await trx
    .updateTable('tasks')
    .set((eb) => ({
      status: 'running',
      claim_token: claimToken,
      claimed_by: claim.workerId,
      worker_pid: claim.pid,
      worker_host: claim.host,
      claimed_at: now,
      claim_expires_at: values.expiresAt,
      lease_ms: claim.leaseMs,
      heartbeat_at: null,
      started_at: now,
      current_run_id: runId,
      not_before: null,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    }))
    .where('id', '=', taskId)
    .where('status', '=', statusLiteral('ready'))
    .returningAll()
    .executeTakeFirst()
  if (!claimed) throw new Error(`kanban-db bug: task ${taskId} was read ready under its lock but could not be claimed`)
  await openRun.execute(trx, { ...values, taskId, attempt: Number(claimed.attempts) })
  await appendEvent(trx, {
    taskId,
    runId,
    kind: 'claimed',
    from: 'ready',
    to: 'running',
    payload: { workerId: claim.workerId, pid: claim.pid, host: claim.host, attempt: Number(claimed.attempts), named: true },
    now,
  })
  return { ...toTask(claimed), claimToken, runId }
}

/** A due scheduled task becomes ready (or todo while a dependency is open), with its `due` event. */
async function makeDue(trx: Kysely<BoardSchema>, task: TaskRow, now: number): Promise<TaskRow> {
  const to: TaskStatus = (await unfinishedDependencyCount(trx, task.id)) > 0 ? 'todo' : 'ready'
  assertTransition('due', 'scheduled', to, task.id)
  const updated = await trx.updateTable('tasks').set({ status: to, updated_at: now }).where('id', '=', task.id).returningAll().executeTakeFirstOrThrow()
  await appendEvent(trx, { taskId: task.id, kind: 'due', from: 'scheduled', to, payload: { dueAt: Number(task.due_at) }, now })
  return updated
}

async function notClaimable(trx: Kysely<BoardSchema>, task: TaskRow, now: number): Promise<InvalidTransition> {
  const status = task.status as TaskStatus
  let why: string
  let advice: string
  const details: Record<string, unknown> = { taskId: task.id, action: 'claim', from: status, allowedFrom: ['ready'] }
  switch (status) {
    case 'running':
      why = `it is running under the claim of ${task.claimed_by} (attempt ${task.attempts}, lease until ${Number(task.claim_expires_at)})`
      advice = 'Pick another task; an operator can take the claim back with reclaim.'
      details['claimedBy'] = task.claimed_by
      break
    case 'todo': {
      const open = await trx
        .selectFrom('tasks')
        .select('id')
        .where('id', 'in', (eb) => eb.selectFrom('task_dependencies').select('depends_on_id').where('task_id', '=', task.id))
        .where('status', '<>', statusLiteral('done'))
        .orderBy('id')
        .execute()
      const ids = open.map((row) => row.id)
      why = `it waits for ${ids.length === 1 ? 'its dependency' : 'its dependencies'} ${ids.join(', ')} to be done`
      advice = 'It becomes ready when they are done (or removeDependency).'
      details['waitingFor'] = ids
      break
    }
    case 'scheduled':
      why = `it is scheduled for ${Number(task.due_at)} (${new Date(Number(task.due_at)).toISOString()}, now ${now})`
      advice = 'Claim it from its due time on.'
      details['dueAt'] = Number(task.due_at)
      break
    default:
      why = `it is ${status}`
      advice = status === 'triage' ? 'Accept it first.' : status === 'blocked' ? 'Unblock it first.' : 'Only ready tasks are claimed.'
  }
  return new InvalidTransition(`Cannot claim task ${task.id}: ${why}; claim applies to ready tasks. ${advice} The task was not changed.`, { details })
}

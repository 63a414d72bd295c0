import type { Kysely } from 'kysely'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { endRun } from './runs.js'
import { NO_CLAIM } from './task-queries.js'
import { assertTransition, type TaskStatus } from './transitions.js'
import type { ReleasedClaim } from './types.js'

/** Running tasks whose lease ran out by `now`. */
export async function expiredClaims(db: Kysely<BoardSchema>, now: number): Promise<TaskRow[]> {
  return db.selectFrom('tasks').selectAll().where('status', '=', 'running').where('claim_expires_at', '<=', now).orderBy('claim_expires_at').orderBy('id').execute()
}

/** Running tasks claimed on `host` at or before `claimedBy`. */
export async function runningClaimsOf(db: Kysely<BoardSchema>, host: string, claimedBy: number): Promise<TaskRow[]> {
  return db
    .selectFrom('tasks')
    .selectAll()
    .where('status', '=', 'running')
    .where('worker_host', '=', host)
    .where('claimed_at', '<=', claimedBy)
    .orderBy('claimed_at')
    .orderBy('id')
    .execute()
}

/**
 * Takes back the claims of `tasks` (as read before this transaction): each goes to ready while
 * attempts remain, else failed; its run closes with `outcome`; one event each. A task whose claim
 * changed since it was read (completed, heartbeated into a new claim) is skipped.
 */
export async function releaseClaimsIn(
  trx: Kysely<BoardSchema>,
  tasks: readonly TaskRow[],
  outcome: 'expired' | 'crashed',
  now: number,
  stillEligible: (current: TaskRow) => boolean,
): Promise<ReleasedClaim[]> {
  const released: ReleasedClaim[] = []
  for (const seen of tasks) {
    const current = await trx.selectFrom('tasks').selectAll().where('id', '=', seen.id).executeTakeFirst()
    if (!current || current.status !== 'running' || current.claim_token !== seen.claim_token || !stillEligible(current)) continue
    const to: TaskStatus = Number(current.attempts) < Number(current.max_attempts) ? 'ready' : 'failed'
    assertTransition(outcome === 'expired' ? 'expire' : 'crash', 'running', to, current.id)
    const error =
      outcome === 'expired'
        ? `the claim of ${current.claimed_by} expired at ${current.claim_expires_at} without a heartbeat`
        : `worker ${current.claimed_by} (pid ${current.worker_pid} on ${current.worker_host}) is gone`
    await trx
      .updateTable('tasks')
      .set({ ...NO_CLAIM, status: to, last_error: error, completed_at: to === 'failed' ? now : null, updated_at: now })
      .where('id', '=', current.id)
      .where('claim_token', '=', current.claim_token)
      .execute()
    await endRun(trx, current.current_run_id, outcome, now, error)
    await appendEvent(trx, {
      taskId: current.id,
      runId: current.current_run_id,
      kind: outcome,
      from: 'running',
      to,
      payload: { workerId: current.claimed_by, pid: current.worker_pid, host: current.worker_host, attempt: Number(current.attempts) },
      now,
    })
    released.push({ taskId: current.id, runId: current.current_run_id, status: to })
  }
  return released
}

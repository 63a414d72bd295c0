import type { Kysely } from 'kysely'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { appendEvent } from './event-log.js'
import { decideAfterFailure, GAVE_UP, gaveUpReason, type BoardRules } from './failure-accounting.js'
import { endRun } from './runs.js'
import { NO_CLAIM } from './task-queries.js'
import { assertTransition, type TaskStatus } from './transitions.js'
import type { OverrunningClaim, ReleasedClaim } from './types.js'
import { statusLiteral } from './literals.js'
import { forUpdate, forUpdateSkipLocked } from './row-locks.js'

/**
 * Running tasks whose lease ran out by `now`. With `lock` (inside the write that releases them),
 * where rows are locked, they stay locked until it ends, and a task another transaction is changing
 * right now (a late heartbeat or completion) is passed over.
 */
export async function expiredClaims(db: Kysely<BoardSchema>, now: number, options: { readonly lock?: boolean } = {}): Promise<TaskRow[]> {
  const query = db.selectFrom('tasks').selectAll().where('status', '=', statusLiteral('running')).where('claim_expires_at', '<=', now).orderBy('claim_expires_at').orderBy('id')
  return (options.lock ? forUpdateSkipLocked(db, query) : query).execute()
}

/**
 * Ends the reviewer claims of review tasks whose lease ran out by `now`: the task stays in review
 * for another reviewer (the run closes as `expired`, one `review-released` event each). Claims
 * `mayRelease` turns down are left as they are.
 */
export async function releaseExpiredReviewsIn(trx: Kysely<BoardSchema>, now: number, mayRelease: (task: TaskRow) => boolean = () => true): Promise<ReleasedClaim[]> {
  const expired = await forUpdateSkipLocked(
    trx,
    trx
      .selectFrom('tasks')
      .selectAll()
      .where('status', '=', statusLiteral('review'))
      .where('claim_token', 'is not', null)
      .where('claim_expires_at', '<=', now)
      .orderBy('claim_expires_at')
      .orderBy('id'),
  ).execute()
  const released: ReleasedClaim[] = []
  for (const task of expired) {
    if (!mayRelease(task)) continue
    assertTransition('release-review', 'review', 'review', task.id)
    await trx.updateTable('tasks').set({ ...NO_CLAIM, updated_at: now }).where('id', '=', task.id).where('claim_token', '=', task.claim_token).execute()
    const error = `the review claim of ${task.claimed_by} expired at ${task.claim_expires_at} without a heartbeat`
    await endRun(trx, task.current_run_id, 'expired', now, error)
    await appendEvent(trx, {
      taskId: task.id,
      runId: task.current_run_id,
      kind: 'review-released',
      from: 'review',
      to: 'review',
      payload: { reviewerId: task.claimed_by, claimExpiresAt: numberOrNull(task.claim_expires_at), heartbeatAt: numberOrNull(task.heartbeat_at), leaseMs: numberOrNull(task.lease_ms) },
      now,
    })
    released.push({ taskId: task.id, runId: task.current_run_id, status: 'review' })
  }
  return released
}

/** Running tasks claimed on `host` at or before `claimedBy`. */
export async function runningClaimsOf(db: Kysely<BoardSchema>, host: string, claimedBy: number): Promise<TaskRow[]> {
  return db
    .selectFrom('tasks')
    .selectAll()
    .where('status', '=', statusLiteral('running'))
    .where('worker_host', '=', host)
    .where('claimed_at', '<=', claimedBy)
    .orderBy('claimed_at')
    .orderBy('id')
    .execute()
}

/**
 * Takes back the claims of `tasks` (as read before this transaction); its run closes with
 * `outcome`; one event each. An expired lease is not the worker's failure: back to ready while
 * attempts remain, else failed. A crash counts a consecutive failure (`decideAfterFailure`): ready,
 * blocked with a `gave-up` event, or failed. A task whose claim changed since it was read
 * (completed, heartbeated into a new claim) is skipped.
 */
export async function releaseClaimsIn(
  trx: Kysely<BoardSchema>,
  tasks: readonly TaskRow[],
  outcome: 'expired' | 'crashed',
  now: number,
  stillEligible: (current: TaskRow) => boolean,
  rules: BoardRules,
): Promise<ReleasedClaim[]> {
  const released: ReleasedClaim[] = []
  for (const seen of tasks) {
    const current = await forUpdate(trx, trx.selectFrom('tasks').selectAll().where('id', '=', seen.id)).executeTakeFirst()
    if (!current || current.status !== 'running' || current.claim_token !== seen.claim_token || !stillEligible(current)) continue
    const error =
      outcome === 'expired'
        ? `the claim of ${current.claimed_by} expired at ${current.claim_expires_at} without a heartbeat`
        : `worker ${current.claimed_by} (pid ${current.worker_pid} on ${current.worker_host}) is gone`
    const decision = outcome === 'crashed' ? decideAfterFailure(current, true, rules) : undefined
    const to: TaskStatus = decision?.to ?? (Number(current.attempts) < Number(current.max_attempts) ? 'ready' : 'failed')
    assertTransition(outcome === 'expired' ? 'expire' : 'crash', 'running', to, current.id)
    await trx
      .updateTable('tasks')
      .set({
        ...NO_CLAIM,
        status: to,
        last_error: error,
        completed_at: to === 'failed' ? now : null,
        ...(decision ? { consecutive_failures: decision.consecutiveFailures } : {}),
        ...(decision?.gaveUp ? { block_reason: gaveUpReason(decision, error), block_kind: GAVE_UP, block_recurrences: 1 } : {}),
        updated_at: now,
      })
      .where('id', '=', current.id)
      .where('claim_token', '=', current.claim_token)
      .execute()
    await endRun(trx, current.current_run_id, outcome, now, error)
    await appendEvent(trx, {
      taskId: current.id,
      runId: current.current_run_id,
      kind: decision?.gaveUp ? 'gave-up' : outcome,
      from: 'running',
      to,
      payload: {
        workerId: current.claimed_by,
        pid: current.worker_pid,
        host: current.worker_host,
        attempt: Number(current.attempts),
        // What a notifier needs without reading the task again: when the claim ran out, and the
        // last sign of life of its worker (null: it never heartbeated).
        claimedAt: numberOrNull(current.claimed_at),
        claimExpiresAt: numberOrNull(current.claim_expires_at),
        heartbeatAt: numberOrNull(current.heartbeat_at),
        leaseMs: numberOrNull(current.lease_ms),
        ...(decision ? { failureKind: 'crash', consecutiveFailures: decision.consecutiveFailures, maxRetries: decision.maxRetries } : {}),
      },
      now,
    })
    released.push({ taskId: current.id, runId: current.current_run_id, status: to })
  }
  return released
}

/** Running tasks whose attempt has run past the task's `maxRuntimeMs` by `now` (a plain read). */
export async function overrunningClaimsOf(db: Kysely<BoardSchema>, now: number): Promise<OverrunningClaim[]> {
  const rows = await db
    .selectFrom('tasks')
    .selectAll()
    .where('status', '=', statusLiteral('running'))
    .where('max_runtime_ms', 'is not', null)
    .where((eb) => eb(eb('claimed_at', '+', eb.ref('max_runtime_ms')), '<=', now))
    .orderBy('claimed_at')
    .orderBy('id')
    .execute()
  return rows.map((row) => ({
    taskId: row.id,
    runId: row.current_run_id,
    workerId: row.claimed_by,
    pid: row.worker_pid === null ? null : Number(row.worker_pid),
    host: row.worker_host,
    startedAt: Number(row.claimed_at),
    maxRuntimeMs: Number(row.max_runtime_ms),
  }))
}

/**
 * Extends, by their own lease, the expired claims in `alive` (read before this transaction, their
 * workers found alive with a recent heartbeat), with one `extended` event each. A claim that changed
 * since it was read is skipped. Returns the ids extended.
 */
export async function extendLiveClaimsIn(trx: Kysely<BoardSchema>, alive: readonly TaskRow[], now: number): Promise<string[]> {
  const extended: string[] = []
  for (const seen of alive) {
    const lease = Number(seen.lease_ms ?? 0)
    assertTransition('heartbeat', 'running', 'running', seen.id)
    const result = await trx
      .updateTable('tasks')
      .set({ claim_expires_at: now + lease, updated_at: now })
      .where('id', '=', seen.id)
      .where('status', '=', statusLiteral('running'))
      .where('claim_token', '=', seen.claim_token)
      .where('claim_expires_at', '<=', now)
      .executeTakeFirst()
    if (Number(result.numUpdatedRows) === 0) continue
    await appendEvent(trx, {
      taskId: seen.id,
      runId: seen.current_run_id,
      kind: 'extended',
      from: 'running',
      to: 'running',
      payload: { workerId: seen.claimed_by, pid: seen.worker_pid, host: seen.worker_host, heartbeatAt: seen.heartbeat_at, leaseMs: lease },
      now,
    })
    extended.push(seen.id)
  }
  return extended
}

function numberOrNull(value: number | bigint | null): number | null {
  return value === null ? null : Number(value)
}

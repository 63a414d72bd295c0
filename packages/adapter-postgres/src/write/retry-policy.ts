import { IDEMPOTENCY_CONSTRAINT } from '../schema/postgres-migrations.js'

/** The primary key of tasks (Postgres's default name): two creators of one explicit id. */
const TASK_ID_CONSTRAINT = 'tasks_pkey'
import { constraintOf, sqlStateOf } from '../sql-state.js'

/**
 * Why a failed write transaction may simply run again:
 * - `conflict`: a serialization failure (40001) or a deadlock (40P01). The server rolled the
 *   transaction back; running it again is what a serial execution would have done.
 * - `duplicate`: a unique violation (23505) of the idempotency key or of a task id. Another
 *   transaction created the same task between this one's look-up and its insert; run again, the
 *   look-up finds it (an existing id is then refused with `InvalidInput`, as on SQLite).
 * undefined: the error is the caller's to see.
 */
export type RetryReason = 'conflict' | 'duplicate'

/** The reason a write may be retried after `error`, if any (also through a classified error). */
export function retryReason(error: unknown): RetryReason | undefined {
  const state = sqlStateOf(error)
  if (state === '40001' || state === '40P01') return 'conflict'
  if (state === '23505' && (constraintOf(error) === IDEMPOTENCY_CONSTRAINT || constraintOf(error) === TASK_ID_CONSTRAINT)) return 'duplicate'
  return undefined
}

/**
 * Duplicate-key retries allowed per write: one is enough when the callback looks the key up first;
 * a callback that inserts a duplicate regardless would otherwise spin until the budget ran out.
 */
export const MAX_DUPLICATE_RETRIES = 3

/**
 * How long to wait before try `attempt` + 1 (attempt counts from 1): exponential from 2 ms, at most
 * 200 ms, jittered over 50-150 % so writers that collided do not collide again in step.
 */
export function backoffMs(attempt: number): number {
  const base = Math.min(200, 2 * 2 ** Math.min(attempt - 1, 10))
  return base * (0.5 + Math.random())
}

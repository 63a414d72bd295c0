import { KanbanDbError, type KanbanDbErrorDetails, type KanbanDbErrorOptions } from './errors.js'

/**
 * Thrown by a handler of `board.work` when a service it calls is rate limited: the task goes back to
 * ready without counting a failure or an attempt, and no claimer in any process takes it before
 * `retryAfterMs` (default: the worker's `rateLimitCooldownMs`).
 *
 * ```ts
 * if (response.status === 429) throw new RateLimited('the model API is rate limited', { retryAfterMs: 30_000 })
 * ```
 */
export class RateLimited extends KanbanDbError<'RATE_LIMITED'> {
  readonly code = 'RATE_LIMITED'
  /** How long the task waits before it may be claimed again; undefined: the worker's cooldown. */
  readonly retryAfterMs: number | undefined

  constructor(message: string, options: KanbanDbErrorOptions<KanbanDbErrorDetails<'RATE_LIMITED'>> & { readonly retryAfterMs?: number } = {}) {
    super(message, options)
    const { retryAfterMs } = options
    this.retryAfterMs = typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0 ? Math.round(retryAfterMs) : undefined
  }
}

/** Why a running task's `signal` aborted: the claim was lost, the task ran too long, or the worker stopped. */
import type { WorkAbortKind } from './error-details.js'
export type { WorkAbortKind } from './error-details.js'

/**
 * The `reason` of an aborted task signal in `board.work`. The worker has stopped waiting for the
 * handler: what it returns or throws from now on is ignored (for `claim-lost` another worker may
 * own the task; for `timeout` it was failed with kind `timeout`; for `shutdown` it was released).
 */
export class WorkAborted extends KanbanDbError<'WORK_ABORTED'> {
  readonly code = 'WORK_ABORTED'
  /** Which of the three ended the handler's time. */
  readonly kind: WorkAbortKind

  constructor(kind: WorkAbortKind, message: string, options: KanbanDbErrorOptions<KanbanDbErrorDetails<'WORK_ABORTED'>> = {}) {
    super(message, { ...options, details: { kind, ...options.details } })
    this.kind = kind
  }
}

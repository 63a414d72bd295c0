import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { ClaimedTask, JsonObject, JsonValue } from '../board/types.js'
import { invalid, optionalBoolean, optionalInteger, optionalString, requireObject, requireString } from '../board/validate.js'

/** A claimed task as a handler sees it, with its `meta` typed as the worker declares. */
export type WorkTask<Meta extends object = JsonObject> = Omit<ClaimedTask, 'meta'> & { readonly meta: Meta }

/** What a handler gets besides the task. */
export interface TaskContext {
  /**
   * Aborted when the handler should stop: the claim was lost (another process took the task back),
   * the task ran past its `maxRuntimeMs`, or the worker is stopping and its deadline passed.
   * `signal.reason` is a {@link WorkAborted} naming which. Pass it to `fetch`, child processes and
   * timers; the worker does not wait for a handler after its signal aborted.
   */
  readonly signal: AbortSignal
  /** Extends the lease now (the worker also does this by itself every `heartbeatMs`). */
  heartbeat(): Promise<void>
  /** Which claim of the task this is (1 for the first). */
  readonly attempt: number
  /** The run (attempt) row this claim opened. */
  readonly runId: string
  /** The worker's id, as the claim records it. */
  readonly workerId: string
}

/**
 * Does the work of one task and returns its result (stored by `complete`, JSON), or throws: the
 * task fails and is retried after a backoff (see {@link WorkOptions.retry}); throw a
 * `RateLimited` to requeue it after a cooldown without counting a failure.
 */
export type TaskHandler<Meta extends object = JsonObject, Result = JsonValue | void> = (
  task: WorkTask<Meta>,
  context: TaskContext,
) => Promise<Result> | Result

/** How long a failed task waits before it may be claimed again. */
export interface RetryBackoff {
  /** The wait after the first failure; each further consecutive failure doubles it. Default 1,000 ms. */
  readonly baseMs?: number
  /** The longest wait. Default 300,000 ms (5 minutes). */
  readonly maxMs?: number
  /** Spread the wait over its upper half at random, so failed tasks do not return in a herd. Default true. */
  readonly jitter?: boolean
}

/** What `board.work` takes. Every field has a default. */
export interface WorkOptions {
  /** Who claims, as runs and events record it (1-200 characters). Default `<host>:<pid>:<random>`. */
  readonly workerId?: string
  /** How many tasks run at once in this worker (1-1,000). Default 1. */
  readonly concurrency?: number
  /** The claim's lease; the worker heartbeats well before it ends. 1 s to 7 days. Default 30,000 ms. */
  readonly leaseMs?: number
  /** How often a running task is heartbeated: 100 ms to half of `leaseMs`. Default a third of `leaseMs`. */
  readonly heartbeatMs?: number
  /** Claim only tasks with this assignee (a string), only unassigned ones (`null`), or any (left out). */
  readonly assignee?: string | null
  /** Claim only tasks of this tenant. Default any. */
  readonly tenant?: string
  /**
   * A running task's signal aborts after this long and the task fails with kind `timeout` (counted).
   * Default: the task's own `maxRuntimeMs`, else no limit. A task's own limit, when smaller, wins.
   */
  readonly maxRuntimeMs?: number
  /** The backoff after a failure. Default `{ baseMs: 1000, maxMs: 300000, jitter: true }`. */
  readonly retry?: RetryBackoff
  /** The cooldown after a `RateLimited` without `retryAfterMs`. Default 60,000 ms. */
  readonly rateLimitCooldownMs?: number
  /**
   * While idle, look for work at least this often even without a wake-up (wake-ups come from this
   * process's writes and, on engines with `crossProcessWakeups`, from other processes). Default 1,000 ms.
   */
  readonly pollMs?: number
  /**
   * While idle, take back claims whose lease ran out (a worker process that died) at most this often,
   * so a fleet of workers recovers its own dead without a dispatcher. 0 turns it off (a dispatcher
   * does it). Default `leaseMs`.
   */
  readonly reclaimEveryMs?: number
  /** How long `stop()` lets running handlers finish before it aborts them and releases their tasks. Default 30,000 ms. */
  readonly stopTimeoutMs?: number
  /** Aborting it stops the worker, like `stop()`. */
  readonly signal?: AbortSignal
}

/** {@link WorkOptions} with defaults applied and checked. */
export interface ValidWorkOptions {
  readonly workerId: string
  readonly concurrency: number
  readonly leaseMs: number
  readonly heartbeatMs: number
  readonly assignee: string | null | undefined
  readonly tenant: string | undefined
  readonly maxRuntimeMs: number | undefined
  readonly retry: Required<RetryBackoff>
  readonly rateLimitCooldownMs: number
  readonly pollMs: number
  readonly reclaimEveryMs: number
  readonly stopTimeoutMs: number
  readonly signal: AbortSignal | undefined
}

const DAY_MS = 24 * 60 * 60 * 1000
const WEEK_MS = 7 * DAY_MS

/** Checks `options` (InvalidInput naming the field) and fills in the defaults. */
export function validateWorkOptions(options: WorkOptions): ValidWorkOptions {
  requireObject('options', options)
  const leaseMs = optionalInteger('options.leaseMs', options.leaseMs, 30_000, { min: 1_000, max: WEEK_MS })
  const retry = options.retry === undefined ? {} : requireObject('options.retry', options.retry)
  const baseMs = optionalInteger('options.retry.baseMs', retry['baseMs'], 1_000, { min: 0, max: WEEK_MS })
  const signal = options.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid('options.signal', 'expected an AbortSignal', signal)
  return {
    workerId: options.workerId === undefined ? defaultWorkerId() : requireString('options.workerId', options.workerId, { max: 200 }),
    concurrency: optionalInteger('options.concurrency', options.concurrency, 1, { min: 1, max: 1_000 }),
    leaseMs,
    heartbeatMs: optionalInteger('options.heartbeatMs', options.heartbeatMs, Math.max(1, Math.floor(leaseMs / 3)), { min: 100, max: Math.floor(leaseMs / 2) }),
    assignee: options.assignee === undefined ? undefined : optionalString('options.assignee', options.assignee, { max: 200 }),
    tenant: options.tenant === undefined ? undefined : requireString('options.tenant', options.tenant, { max: 200 }),
    maxRuntimeMs: options.maxRuntimeMs === undefined ? undefined : optionalInteger('options.maxRuntimeMs', options.maxRuntimeMs, 0, { min: 1, max: WEEK_MS }),
    retry: {
      baseMs,
      maxMs: optionalInteger('options.retry.maxMs', retry['maxMs'], Math.max(baseMs, 300_000), { min: baseMs, max: WEEK_MS }),
      jitter: optionalBoolean('options.retry.jitter', retry['jitter'], true),
    },
    rateLimitCooldownMs: optionalInteger('options.rateLimitCooldownMs', options.rateLimitCooldownMs, 60_000, { min: 0, max: WEEK_MS }),
    pollMs: optionalInteger('options.pollMs', options.pollMs, 1_000, { min: 10, max: DAY_MS }),
    reclaimEveryMs: optionalInteger('options.reclaimEveryMs', options.reclaimEveryMs, leaseMs, { min: 0, max: WEEK_MS }),
    stopTimeoutMs: optionalInteger('options.stopTimeoutMs', options.stopTimeoutMs, 30_000, { min: 0, max: DAY_MS }),
    signal,
  }
}

function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`.slice(0, 200)
}

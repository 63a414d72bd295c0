import type { TaskRow } from '../schema/board-schema.js'

/** Retries after consecutive failures when neither the task nor the board sets `maxRetries`. */
export const DEFAULT_MAX_RETRIES = 2

/** Review rejections in a row before a task is escalated to `triage`, unless the board sets another. */
export const DEFAULT_MAX_REVIEW_REJECTIONS = 3

/** The board-wide rules of failure accounting and review (from `openBoard`). */
export interface BoardRules {
  /** Retries after consecutive failures for tasks that set none. Default {@link DEFAULT_MAX_RETRIES}. */
  readonly maxRetries: number
  /** Rejections in a row that escalate a task to triage. Default {@link DEFAULT_MAX_REVIEW_REJECTIONS}. */
  readonly maxReviewRejections: number
  /** True: no task is done without an approved review (`complete` is refused; use `requestReview`). Default false. */
  readonly requireReview: boolean
}

/** Where a counted failure sends the task. */
export interface FailureDecision {
  readonly to: 'ready' | 'blocked' | 'failed'
  /** The task's consecutive failures, this one included. */
  readonly consecutiveFailures: number
  /** The limit that applied (the task's `maxRetries`, else the board's). */
  readonly maxRetries: number
  /** True when this failure went past the retries: the task is blocked with a `gave-up` event. */
  readonly gaveUp: boolean
}

/** The block kind a task that gave up carries. */
export const GAVE_UP = 'gave-up'

/**
 * Decides what a counted failure (an error, a spawn failure, a crash, a timeout) does: the
 * consecutive count grows by one; `retry: false` fails the task; past `maxRetries` retries the task
 * gives up (blocked, so a person can look, and unblock it for a fresh count); when every attempt is
 * used it fails; else it goes back to ready. Success resets the count (`complete`, `requestReview`).
 */
export function decideAfterFailure(task: TaskRow, retry: boolean, rules: BoardRules): FailureDecision {
  const consecutiveFailures = Number(task.consecutive_failures) + 1
  const maxRetries = task.max_retries === null ? rules.maxRetries : Number(task.max_retries)
  const decide = (to: FailureDecision['to'], gaveUp = false): FailureDecision => ({ to, consecutiveFailures, maxRetries, gaveUp })
  if (!retry) return decide('failed')
  if (consecutiveFailures > maxRetries) return decide('blocked', true)
  if (Number(task.attempts) >= Number(task.max_attempts)) return decide('failed')
  return decide('ready')
}

/** What a task that gave up says in `blockReason`. */
export function gaveUpReason(decision: FailureDecision, error: string): string {
  return `gave up after ${decision.consecutiveFailures} consecutive failures (maxRetries ${decision.maxRetries}); last error: ${error}`.slice(0, 10_000)
}

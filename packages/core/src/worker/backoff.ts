import type { RetryBackoff } from './work-options.js'

/**
 * The wait before a failed task may be claimed again: `baseMs` doubled for each consecutive failure
 * before this one, capped at `maxMs`; with jitter, a random point in the upper half of that wait
 * (never near zero, and failures of one moment spread out). `random` is for tests.
 */
export function retryDelayMs(consecutiveFailures: number, backoff: Required<RetryBackoff>, random: () => number = Math.random): number {
  const doublings = Math.min(Math.max(consecutiveFailures - 1, 0), 40)
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** doublings)
  if (!backoff.jitter) return Math.round(ceiling)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

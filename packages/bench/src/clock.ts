import { performance } from 'node:perf_hooks'

/** Milliseconds on a monotonic clock. */
export const now = (): number => performance.now()

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one
 * machine (for per-second windows shared by several worker processes).
 */
export const wallNow = (): number => performance.timeOrigin + performance.now()

/**
 * A monotonic clock in ms that every process on this machine shares (CLOCK_MONOTONIC through
 * `process.hrtime`): a time taken in one process can be subtracted from one taken in another.
 */
export const sharedNow = (): number => Number(process.hrtime.bigint()) / 1e6

/**
 * A stopwatch that only counts the time between `resume()` and `pause()`, so refilling a queue
 * between measured stretches does not count against the contender.
 */
export class Stopwatch {
  #total = 0
  #since: number | undefined

  resume(): void {
    this.#since ??= now()
  }

  pause(): void {
    if (this.#since !== undefined) this.#total += now() - this.#since
    this.#since = undefined
  }

  /** Milliseconds counted so far. */
  get elapsedMs(): number {
    return this.#total + (this.#since === undefined ? 0 : now() - this.#since)
  }
}

/**
 * What one process knows about the other writers of its board, to decide when to step aside:
 * how many of its commits came in a row with no other connection committing in between
 * (`PRAGMA data_version` changes only for other connections' commits), and when it last saw
 * another writer at all (a BEGIN that found the lock held, or another connection's commit).
 *
 * Two levels: while another writer was seen in the last `contendedWindowMs`, the others are
 * waiting now, and this process steps aside after `yieldAfterCommits` commits in a row; while one
 * was seen only in the last `presenceWindowMs`, it may be waiting unseen (a waiter shows only once
 * it gets in), and this process steps aside at most every `presentStreak` commits, so a writer
 * that commits once a second does not cost a busy process a pause every commit or two.
 */
export class LockContention {
  /** How long after the last sign of another writer this process still steps aside for it. */
  static readonly presenceWindowMs = 5000
  /** How recent a sign of another writer must be for the others to count as waiting now. */
  static readonly contendedWindowMs = 50
  /** Commits in a row before stepping aside while others were seen, but not just now. */
  static readonly presentStreak = 8

  readonly #now: () => number
  #streak = 0
  #lastVersion: unknown
  #waited = false
  #othersSeenAt = Number.NEGATIVE_INFINITY

  /** `now` is the clock in ms (tests pass their own). */
  constructor(now: () => number = () => performance.now()) {
    this.#now = now
  }

  /** BEGIN IMMEDIATE found the lock held. */
  sawLockHeld(): void {
    this.#waited = true
    this.#othersSeenAt = this.#now()
  }

  /** BEGIN IMMEDIATE succeeded; `version` is the connection's data_version now. */
  began(version: unknown): void {
    const othersCommitted = this.#lastVersion !== undefined && version !== this.#lastVersion
    if (othersCommitted) this.#othersSeenAt = this.#now()
    if (othersCommitted || this.#waited) this.#streak = 0
    this.#lastVersion = version
    this.#waited = false
  }

  /** This process committed. */
  committed(): void {
    this.#streak++
  }

  /** Were other writers seen in the last few seconds? */
  othersAround(): boolean {
    return this.#now() - this.#othersSeenAt <= LockContention.presenceWindowMs
  }

  /**
   * Should this process pause before its next BEGIN? After `limit` commits in a row while others
   * were seen just now, after `max(limit, presentStreak)` while they were seen in the last few
   * seconds, never when alone or when `limit` is 0. Answering yes starts the count anew.
   */
  shouldStepAside(limit: number): boolean {
    if (limit === 0) return false
    const sinceOthers = this.#now() - this.#othersSeenAt
    if (sinceOthers > LockContention.presenceWindowMs) return false
    const needed = sinceOthers <= LockContention.contendedWindowMs ? limit : Math.max(limit, LockContention.presentStreak)
    if (this.#streak < needed) return false
    this.#streak = 0
    return true
  }
}

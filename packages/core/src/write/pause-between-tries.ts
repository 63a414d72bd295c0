/**
 * How long a waiter sleeps before its next try at the write lock, in ms: 0.2-0.8 ms (jittered) at
 * first, shrinking as its wait grows (half after 3 ms, a quarter after 9 ms), never under 0.1 ms.
 *
 * Waiters in other processes cannot see one another, so there is no queue to join; but the one that
 * has waited longest tries most often and most likely catches the next gap between two
 * transactions, which cuts the tail of the wait. A waiter that has just started tries less often,
 * leaving the CPU to the lock's holder on a machine with few cores; and however long the wait (a
 * long transaction elsewhere), a waiter never tries more often than every 0.1 ms.
 */
export function pauseBetweenTries(waitedMs: number): number {
  const jittered = 0.2 + Math.random() * 0.6
  return Math.max(minimumPauseMs, jittered / (1 + Math.max(0, waitedMs) / pauseHalvesAfterMs))
}

/** The shortest pause between two tries, however long the wait: each try costs CPU. */
export const minimumPauseMs = 0.1

/** The wait after which a waiter's pauses between tries are half as long. */
const pauseHalvesAfterMs = 3

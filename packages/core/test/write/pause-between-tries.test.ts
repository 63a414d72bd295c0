import { describe, expect, it } from 'vitest'
import { minimumPauseMs, pauseBetweenTries } from '../../src/write/pause-between-tries.js'

// The waiter that has waited longest must try most often: that is the only queue there is between
// processes (they cannot see one another). These are bounds on a pure function, not timings.
describe('pauseBetweenTries', () => {
  const samples = (waitedMs: number) => Array.from({ length: 2000 }, () => pauseBetweenTries(waitedMs))

  it('starts at 0.2-0.8 ms, jittered', () => {
    const pauses = samples(0)
    expect(Math.min(...pauses)).toBeGreaterThanOrEqual(0.2)
    expect(Math.max(...pauses)).toBeLessThanOrEqual(0.8)
    // Jittered: waiters that started together do not try in lockstep.
    expect(new Set(pauses).size).toBeGreaterThan(100)
  })

  it('shrinks as the wait grows: from 9 ms on, a waiter pauses no longer than any newcomer', () => {
    expect(Math.max(...samples(3))).toBeLessThanOrEqual(0.4)
    expect(Math.max(...samples(9))).toBeLessThanOrEqual(0.2)
  })

  it('never drops below 0.1 ms, however long the wait, and treats a clock step back as no wait', () => {
    expect(minimumPauseMs).toBe(0.1)
    expect(Math.min(...samples(1e9))).toBe(minimumPauseMs)
    expect(Math.max(...samples(1e9))).toBe(minimumPauseMs)
    expect(Math.min(...samples(-5))).toBeGreaterThanOrEqual(0.2)
  })
})

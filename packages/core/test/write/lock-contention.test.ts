import { describe, expect, it } from 'vitest'
import { LockContention } from '../../src/write/lock-contention.js'

// When to step aside, on a clock the test moves: no sleeping, no timing.
function contention() {
  const clock = { now: 1_000_000 }
  return { clock, lock: new LockContention(() => clock.now) }
}

/** One transaction of this process: BEGIN (data_version `version`), then COMMIT. */
function commitOnce(lock: LockContention, version: number): void {
  lock.began(version)
  lock.committed()
}

describe('LockContention', () => {
  it('never steps aside for a process alone on its board', () => {
    const { lock } = contention()
    for (let i = 0; i < 100; i++) {
      commitOnce(lock, 1)
      expect(lock.shouldStepAside(1)).toBe(false)
    }
    expect(lock.othersAround()).toBe(false)
  })

  it('steps aside after every commit while another writer was seen in the last 50 ms (limit 1)', () => {
    const { clock, lock } = contention()
    commitOnce(lock, 1)
    let version = 1
    for (let i = 0; i < 10; i++) {
      clock.now += 2
      commitOnce(lock, ++version) // another connection committed in between
      expect(lock.shouldStepAside(1)).toBe(true)
      // Asked again before the next commit: the count started anew.
      expect(lock.shouldStepAside(1)).toBe(false)
    }
  })

  it('with limit 2, steps aside only after two of its own commits in a row', () => {
    const { clock, lock } = contention()
    lock.sawLockHeld()
    commitOnce(lock, 1)
    expect(lock.shouldStepAside(2)).toBe(false)
    clock.now += 1
    commitOnce(lock, 1) // nobody else committed in between: a streak of 2
    expect(lock.shouldStepAside(2)).toBe(true)
  })

  it('while others were seen only in the last 5 s, steps aside at most every 8th commit', () => {
    const { clock, lock } = contention()
    commitOnce(lock, 1)
    commitOnce(lock, 2) // another writer committed: seen now
    clock.now += 100 // ... but not in the last 50 ms any more
    lock.shouldStepAside(1) // the streak of 1 is not enough now
    const answers: boolean[] = []
    for (let i = 0; i < 16; i++) {
      commitOnce(lock, 2)
      answers.push(lock.shouldStepAside(1))
    }
    expect(answers.filter(Boolean).length).toBe(2)
    expect(answers.indexOf(true)).toBe(6) // the 8th commit in a row (one before the loop, 7 in it)
  })

  it('forgets the others 5 s after it last saw one, and a limit of 0 never steps aside', () => {
    const { clock, lock } = contention()
    lock.sawLockHeld()
    commitOnce(lock, 1)
    expect(lock.shouldStepAside(0)).toBe(false)
    for (let i = 0; i < 8; i++) commitOnce(lock, 1)
    clock.now += 5001
    expect(lock.othersAround()).toBe(false)
    expect(lock.shouldStepAside(1)).toBe(false)
  })
})

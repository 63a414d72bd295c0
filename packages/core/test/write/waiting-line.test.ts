import { chmodSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { WaitingLine } from '../../src/write/waiting-line.js'
import { tempDir } from '../temp-dir.js'

// The line's file on disk, read and written by several WaitingLine instances (one per waiter), on a
// clock the test moves: no sleeping, no timing. Instances of one process share its pid, so each
// waits since a different time.
function line() {
  const dir = tempDir()
  const board = join(dir, 'board.db')
  writeFileSync(board, '')
  chmodSync(board, 0o600)
  const clock = { now: 1_000_000 }
  const open = () => WaitingLine.open(board, () => clock.now)!
  return { board, clock, open }
}

describe('WaitingLine', () => {
  it('puts the waiter that has waited longest at the head, the others behind it in order of arrival', () => {
    const { open } = line()
    const [a, b, c] = [open(), open(), open()]
    expect(b.ahead(200)).toBe(0) // alone in the line: the head
    expect(a.ahead(100)).toBe(0) // waited longer: the head now
    expect(c.ahead(300)).toBe(2)
    expect(b.ahead(200)).toBe(1)
    a.leave()
    expect(b.ahead(200)).toBe(0)
    expect(c.ahead(300)).toBe(1)
    expect(c.othersWaiting()).toBe(true)
    b.leave()
    expect(c.ahead(300)).toBe(0)
    expect(c.othersWaiting()).toBe(false)
    for (const waiter of [a, b, c]) waiter.close()
  })

  it('ignores a waiter that stopped refreshing its place (a dead or stopped process) and reuses its slot', () => {
    const { clock, open } = line()
    const [dead, alive] = [open(), open()]
    expect(dead.ahead(100)).toBe(0)
    expect(alive.ahead(200)).toBe(1)
    // `alive` keeps asking (and refreshing); `dead` never comes back.
    for (let t = 0; t <= WaitingLine.staleAfterMs; t += WaitingLine.refreshEveryMs) {
      clock.now += WaitingLine.refreshEveryMs
      alive.ahead(200)
    }
    clock.now += 1
    expect(alive.ahead(200)).toBe(0)
    const late = open()
    expect(late.ahead(300)).toBe(1)
    for (const waiter of [dead, alive, late]) waiter.close()
  })

  it('a waiter whose slot was taken over joins again with its first arrival time', () => {
    const { clock, open } = line()
    const [first, second] = [open(), open()]
    expect(first.ahead(100)).toBe(0)
    // first's process stalls past the stale bound; second arrives and may take first's slot.
    clock.now += WaitingLine.staleAfterMs + 1
    expect(second.ahead(200)).toBe(0)
    // first comes back: it joins again as a waiter since 100, ahead of second.
    expect(first.ahead(150)).toBe(0)
    expect(second.ahead(200)).toBe(1)
    first.close()
    second.close()
  })

  it('gives its file the board file\'s permission bits, and is undefined where there is no file', () => {
    const { board, open } = line()
    const waiter = open()
    expect(statSync(WaitingLine.pathOf(board)).mode & 0o777).toBe(0o600)
    waiter.close()
    expect(WaitingLine.open(':memory:')).toBeUndefined()
    expect(WaitingLine.open(join(board, 'not-a-directory', 'board.db'))).toBeUndefined()
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { createBoardWithTasks, ForkedWorkers, ofType, recordEvents, statusCounts, withInjectedIoErrors } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Dispatcher reaper', () => {
  it('reaps exited workers at the top of every tick while every board fails to open, and records their exits once the boards open again', async () => {
    const real = await createBetterSqlite3()
    const { adapter, faults } = withInjectedIoErrors(real)
    const dir = tempDir()
    const paths = [join(dir, 'a.db'), join(dir, 'b.db')]
    for (const path of paths) await createBoardWithTasks(real, path, 2)
    // A board that never opens at all (its directory does not exist).
    const never = join(dir, 'missing-directory', 'never.db')
    const workers = new ForkedWorkers()
    const dispatcher = new Dispatcher({ boards: [...paths, never], adapter, spawn: workers.spawn, concurrency: 2 })
    const events = recordEvents(dispatcher)
    cleanups.push(async () => {
      await workers.killAll()
      await dispatcher.stop()
    })

    await dispatcher.tick()
    expect(ofType(events, 'spawned')).toHaveLength(4)

    // Every open and every statement now fails; the workers exit.
    faults.on = true
    await workers.finishAll(0)
    for (let round = 0; round < 2; round += 1) {
      events.length = 0
      await dispatcher.tick()
      // The board in a missing directory already fails at its tick lock (created beside the board).
      const openFailures = new Set(ofType(events, 'error').filter((event) => event.phase === 'open' || event.phase === 'lock').map((event) => event.board))
      // Control: in this tick no board could be opened.
      if (openFailures.size !== 3) {
        throw new Error(`control did not reproduce the hazard: only ${[...openFailures].join(', ')} failed to open`)
      }
      if (round === 0) {
        expect(events.slice(0, 4).map((event) => event.type)).toEqual(['reaped', 'reaped', 'reaped', 'reaped'])
      }
      expect(ofType(events, 'spawned')).toEqual([])
    }
    expect(dispatcher.status().workers).toBe(0)
    expect(dispatcher.status().boards.map((board) => board.unrecorded)).toEqual([2, 2, 0])
    expect(dispatcher.status().boards.every((board) => board.state !== 'quarantined')).toBe(true)

    // The boards open again: every exit is written.
    faults.on = false
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recorded').map((event) => event.outcome)).toEqual(['written', 'written', 'written', 'written'])
    await dispatcher.stop()
    for (const path of paths) expect(await statusCounts(real, path)).toMatchObject({ done: 2, running: 0 })
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { ForkedWorkers, ofType, startWorkerOf, taskAndRuns, waitFor } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Dispatcher terminating a worker', () => {
  it('a timed-out worker that ignores SIGTERM survives it, and gets SIGKILL once killGraceMs has passed by the clock', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    const board = await openBoard({ path, adapter })
    const { id: taskId } = await board.createTask({ title: 'stubborn', maxRuntimeMs: 1_000 })
    await board.close()
    const clock = { now: 1_000_000 }
    const workers = new ForkedWorkers(() => 'ignore-sigterm')
    const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, now: () => clock.now, killGraceMs: 5_000, concurrency: 1 })
    const events = await startWorkerOf(taskId, dispatcher, workers, cleanups)

    clock.now += 1_000
    await dispatcher.tick()
    expect(ofType(events, 'terminating').map((event) => event.step)).toEqual(['SIGTERM'])
    // Control: the worker received SIGTERM (its handler ran and reported it) and is still running.
    await waitFor('the worker to report SIGTERM', () => workers.messages(taskId).includes('sigterm'))
    if (!workers.alive(taskId)) throw new Error('control did not reproduce the hazard: SIGTERM ended a worker that ignores it')

    // Ticks inside the grace send nothing more.
    clock.now += 4_999
    await dispatcher.tick()
    expect(ofType(events, 'terminating').map((event) => event.step)).toEqual(['SIGTERM'])
    expect(workers.alive(taskId)).toBe(true)

    clock.now += 1
    await dispatcher.tick()
    expect(ofType(events, 'terminating').map((event) => [event.reason, event.step])).toEqual([
      ['timed-out', 'SIGTERM'],
      ['timed-out', 'SIGKILL'],
    ])
    expect(await workers.exited(taskId)).toEqual({ code: null, signal: 'SIGKILL' })
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recorded')).toMatchObject([{ taskId, outcome: 'written', decision: { action: 'fail', kind: 'timeout' } }])
    const { task, runs } = await taskAndRuns(adapter, path, taskId)
    expect(task.lastError).toMatch(/killed by SIGKILL/)
    expect(runs[0]!.outcome).toBe('timed-out')
    // Attempts remain (3 by default): the task was retried and claimed again in the same tick.
    expect(workers.spawned).toEqual([taskId, taskId])
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { createBoardWithTasks, ForkedWorkers, ofType, recordEvents, taskAndRuns, waitFor } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Dispatcher.stop({ drain })', () => {
  it('waits for workers up to drainTimeoutMs by the clock, heartbeating their claims and writing the exits that come, then terminates the rest', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    await createBoardWithTasks(adapter, path, 2)
    const clock = { now: 1_000_000 }
    const workers = new ForkedWorkers()
    const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, now: () => clock.now, leaseMs: 3_000, intervalMs: 20 })
    const events = recordEvents(dispatcher)
    cleanups.push(async () => {
      await workers.killAll()
      await dispatcher.stop()
    })
    await dispatcher.tick()
    const [finishes, lingers] = workers.spawned as [string, string]
    for (const taskId of workers.spawned) await workers.started(taskId)

    let stopped = false
    const stopping = dispatcher.stop({ drain: true, drainTimeoutMs: 60_000 }).then(() => (stopped = true))
    // Well past the 3 s lease while draining: the drain ticks keep heartbeating both claims.
    const ticks = () => ofType(events, 'tick').length
    for (let step = 0; step < 10; step += 1) {
      clock.now += 1_000
      // Two ticks: the second certainly began after the clock moved.
      const seen = ticks()
      await waitFor('two drain ticks', () => ticks() >= seen + 2)
    }
    for (const taskId of [finishes, lingers]) {
      const { task } = await taskAndRuns(adapter, path, taskId)
      expect(task.status).toBe('running')
      expect(task.claimExpiresAt).toBeGreaterThan(clock.now)
    }

    // One worker finishes while draining: its exit is written as usual.
    await workers.finish(finishes, 0)
    await waitFor('the finished worker\'s exit to be written', () => ofType(events, 'recorded').length === 1)
    expect(ofType(events, 'recorded')).toMatchObject([{ taskId: finishes, decision: { action: 'complete' }, outcome: 'written' }])
    // Inside the drain window nothing is terminated, whatever the wall clock says.
    expect(ofType(events, 'terminating')).toEqual([])
    expect(workers.alive(lingers)).toBe(true)
    expect(stopped).toBe(false)
    // Nothing new is claimed while stopping.
    expect(ofType(events, 'spawned')).toHaveLength(2)

    // The deadline passes: the other one is terminated and its claim released.
    clock.now += 50_000
    expect(await workers.exited(lingers)).toEqual({ code: null, signal: 'SIGTERM' })
    await stopping
    expect(ofType(events, 'terminating').map((event) => [event.taskId, event.reason, event.step])).toEqual([[lingers, 'stopped', 'SIGTERM']])
    expect(ofType(events, 'recorded').map((event) => [event.taskId, event.decision.action])).toEqual([
      [finishes, 'complete'],
      [lingers, 'release'],
    ])
    expect((await taskAndRuns(adapter, path, finishes)).task.status).toBe('done')
    expect((await taskAndRuns(adapter, path, lingers)).task).toMatchObject({ status: 'ready', consecutiveFailures: 0 })
    expect(dispatcher.status()).toMatchObject({ stopped: true, workers: 0 })
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard, type ClaimedTask, type WorkerHandle } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { ForkedWorkers, ofType, startWorkerOf, taskAndRuns } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Dispatcher and a worker it cannot terminate', () => {
  it('a handle without kill(): a NotSupported error saying what to do, and the timed-out claim is failed at once instead of held for good', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    const board = await openBoard({ path, adapter })
    const { id: taskId } = await board.createTask({ title: 'hangs', maxRuntimeMs: 1_000, maxAttempts: 1 })
    await board.close()
    const clock = { now: 1_000_000 }
    const workers = new ForkedWorkers()
    // A handle written before WorkerHandle had kill(): pid and exit only.
    const spawn = (task: ClaimedTask): WorkerHandle => {
      const { pid, exit } = workers.spawn(task)
      return { pid, exit }
    }
    const dispatcher = new Dispatcher({ boards: [path], adapter, spawn, now: () => clock.now })
    const events = await startWorkerOf(taskId, dispatcher, workers, cleanups)
    clock.now += 1_000
    await dispatcher.tick()

    const [error] = ofType(events, 'error')
    expect(error).toMatchObject({ phase: 'terminate', code: 'NOT_SUPPORTED', board: path })
    expect(error!.message).toMatch(/has no kill\(\).*workerFromChildProcess/)
    expect(ofType(events, 'terminating').map((event) => [event.reason, event.step])).toEqual([['timed-out', 'abandoned']])
    const { task, runs } = await taskAndRuns(adapter, path, taskId)
    expect(task).toMatchObject({ status: 'failed', consecutiveFailures: 1 })
    expect(task.lastError).toMatch(/could not be terminated/)
    expect(runs.map((run) => run.outcome)).toEqual(['timed-out'])
    // The worker itself runs on (nothing could stop it); its exit is not written over the failure.
    expect(workers.alive(taskId)).toBe(true)
    await workers.finish(taskId, 0)
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recorded')).toMatchObject([{ taskId, decision: { action: 'leave' } }])
    expect((await taskAndRuns(adapter, path, taskId)).task.status).toBe('failed')
  })
})

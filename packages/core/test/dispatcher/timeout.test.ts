import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard, type SqliteAdapter } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { ForkedWorkers, ofType, startWorkerOf, taskAndRuns } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const MAX_RUNTIME_MS = 60_000

/** A board with one task that may run MAX_RUNTIME_MS and gets one attempt; returns its id. */
async function boardWithHangingTask(adapter: SqliteAdapter, path: string): Promise<string> {
  const board = await openBoard({ path, adapter })
  try {
    return (await board.createTask({ title: 'hangs', maxRuntimeMs: MAX_RUNTIME_MS, maxAttempts: 1 })).id
  } finally {
    await board.close()
  }
}

describe('Dispatcher and maxRuntimeMs', () => {
  it('terminates its worker whose task ran past maxRuntimeMs and fails the attempt as a timeout once it has exited; reported only, the hung worker keeps its claim', async () => {
    const adapter = await createBetterSqlite3()
    const dir = tempDir()
    const clock = { now: 1_000_000 }

    // Control: with onOverrun 'report' the hung worker runs on far past its bound, and the
    // dispatcher's heartbeats keep its claim alive: the task stays running for good.
    const controlPath = join(dir, 'control.db')
    const controlTask = await boardWithHangingTask(adapter, controlPath)
    const controlWorkers = new ForkedWorkers()
    const control = new Dispatcher({ boards: [controlPath], adapter, spawn: controlWorkers.spawn, now: () => clock.now, onOverrun: 'report' })
    const controlEvents = await startWorkerOf(controlTask, control, controlWorkers, cleanups)
    for (let step = 0; step < 10; step += 1) {
      clock.now += MAX_RUNTIME_MS
      await control.tick()
    }
    expect(ofType(controlEvents, 'overran').map((event) => [event.claim.taskId, event.owner, event.action])).toEqual([[controlTask, 'this', 'report']])
    expect(ofType(controlEvents, 'terminating')).toEqual([])
    if (!controlWorkers.alive(controlTask)) throw new Error('control did not reproduce the hazard: the hung worker is gone')
    const held = await taskAndRuns(adapter, controlPath, controlTask)
    if (held.task.status !== 'running' || !(held.task.claimExpiresAt! > clock.now)) {
      throw new Error(`control did not reproduce the hazard: the hung worker's task is ${held.task.status}, its claim expires at ${held.task.claimExpiresAt} (now ${clock.now})`)
    }
    await controlWorkers.killAll()

    // Protection (the default): terminated, then failed with kind timeout.
    const path = join(dir, 'board.db')
    const taskId = await boardWithHangingTask(adapter, path)
    const workers = new ForkedWorkers()
    const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, now: () => clock.now })
    const events = await startWorkerOf(taskId, dispatcher, workers, cleanups)
    clock.now += MAX_RUNTIME_MS - 1
    await dispatcher.tick()
    expect(ofType(events, 'overran')).toEqual([])

    clock.now += 1
    await dispatcher.tick()
    const [overran] = ofType(events, 'overran')
    expect(overran).toMatchObject({ owner: 'this', action: 'terminate', claim: { taskId, maxRuntimeMs: MAX_RUNTIME_MS, pid: process.pid } })
    expect(ofType(events, 'terminating').map((event) => [event.taskId, event.reason, event.step])).toEqual([[taskId, 'timed-out', 'SIGTERM']])
    expect(dispatcher.status()).toMatchObject({ workers: 1, terminating: 1 })
    // The claim is held until the worker has exited: nobody else can start the task meanwhile.
    expect((await taskAndRuns(adapter, path, taskId)).task.status).toBe('running')

    expect(await workers.exited(taskId)).toEqual({ code: null, signal: 'SIGTERM' })
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'reaped')).toHaveLength(1)
    const [recorded] = ofType(events, 'recorded')
    expect(recorded).toMatchObject({ taskId, outcome: 'written', decision: { action: 'fail', kind: 'timeout' } })
    const { task, runs } = await taskAndRuns(adapter, path, taskId)
    expect(task).toMatchObject({ status: 'failed', consecutiveFailures: 1, claimedBy: null })
    expect(task.lastError).toMatch(/maxRuntimeMs \(60000 ms\).*killed by SIGTERM/)
    expect(runs.map((run) => run.outcome)).toEqual(['timed-out'])
    expect(dispatcher.status()).toMatchObject({ workers: 0, terminating: 0 })
  })
})

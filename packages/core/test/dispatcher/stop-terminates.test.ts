import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard, type SqliteAdapter, type StopOptions } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { ForkedWorkers, ofType, recordEvents, statusCounts, taskAndRuns, waitFor, type WorkerMode } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const MODES: readonly WorkerMode[] = ['plain', 'graceful', 'ignore-sigterm']

/** A dispatcher running three workers, one of each mode (the task's title names it). */
async function threeRunningWorkers(adapter: SqliteAdapter, path: string) {
  const board = await openBoard({ path, adapter })
  await board.createTasks(MODES.map((mode) => ({ title: mode })))
  await board.close()
  const clock = { now: 1_000_000 }
  const workers = new ForkedWorkers((task) => task.title as WorkerMode)
  const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, now: () => clock.now, killGraceMs: 5_000, intervalMs: 20 })
  const events = recordEvents(dispatcher)
  cleanups.push(async () => {
    await workers.killAll()
    await dispatcher.stop()
  })
  await dispatcher.tick()
  expect(workers.spawned).toHaveLength(3)
  for (const taskId of workers.spawned) await workers.started(taskId)
  const byMode = async (mode: WorkerMode) => {
    for (const taskId of workers.spawned) if ((await taskAndRuns(adapter, path, taskId)).task.title === mode) return taskId
    throw new Error(`no ${mode} task`)
  }
  return { clock, workers, dispatcher, events, stop: (options?: StopOptions) => dispatcher.stop(options), byMode }
}

describe('Dispatcher.stop()', () => {
  it('terminates every worker it spawned (SIGTERM, SIGKILL after killGraceMs) and releases their claims counting no failure; leaveWorkersRunning leaves them running', async () => {
    const adapter = await createBetterSqlite3()
    const dir = tempDir()

    // Control: asked to leave them, stop() resolves with all three still running and their tasks held.
    const controlPath = join(dir, 'control.db')
    const control = await threeRunningWorkers(adapter, controlPath)
    await control.stop({ leaveWorkersRunning: true })
    if (control.workers.running().length !== 3) throw new Error('control did not reproduce the hazard: a worker stopped with the dispatcher')
    expect(ofType(control.events, 'terminating')).toEqual([])
    expect(await statusCounts(adapter, controlPath)).toMatchObject({ running: 3 })
    await control.workers.killAll()

    // The default: terminated.
    const path = join(dir, 'board.db')
    const { clock, workers, dispatcher, events, stop, byMode } = await threeRunningWorkers(adapter, path)
    const [plain, graceful, stubborn] = [await byMode('plain'), await byMode('graceful'), await byMode('ignore-sigterm')]
    let stopped = false
    const stopping = stop().then(() => (stopped = true))
    expect(await workers.exited(plain)).toEqual({ code: null, signal: 'SIGTERM' })
    // A worker that shuts down cleanly on SIGTERM exits 0 with its work unfinished.
    expect(await workers.exited(graceful)).toEqual({ code: 0, signal: null })
    await waitFor('the stubborn worker to report SIGTERM', () => workers.messages(stubborn).includes('sigterm'))
    // It ignores SIGTERM: stop() waits for it until the grace has passed by the clock.
    expect(workers.alive(stubborn)).toBe(true)
    expect(stopped).toBe(false)
    clock.now += 5_000
    expect(await workers.exited(stubborn)).toEqual({ code: null, signal: 'SIGKILL' })
    await stopping

    expect(ofType(events, 'terminating').map((event) => [event.taskId, event.reason, event.step]).sort()).toEqual(
      [
        [plain, 'stopped', 'SIGTERM'],
        [graceful, 'stopped', 'SIGTERM'],
        [stubborn, 'stopped', 'SIGTERM'],
        [stubborn, 'stopped', 'SIGKILL'],
      ].sort(),
    )
    // Every claim handed back: ready again, no failure counted, the graceful exit 0 not taken for done.
    expect(ofType(events, 'recorded').map((event) => [event.decision, event.outcome])).toEqual([
      [{ action: 'release', reason: 'shutdown' }, 'written'],
      [{ action: 'release', reason: 'shutdown' }, 'written'],
      [{ action: 'release', reason: 'shutdown' }, 'written'],
    ])
    for (const taskId of [plain, graceful, stubborn]) {
      const { task, runs } = await taskAndRuns(adapter, path, taskId)
      expect(task).toMatchObject({ status: 'ready', consecutiveFailures: 0, claimedBy: null, result: null })
      expect(runs.map((run) => run.outcome)).toEqual(['released'])
    }
    expect(workers.running()).toEqual([])
    expect(dispatcher.status()).toMatchObject({ stopped: true, workers: 0, terminating: 0 })
    expect(dispatcher.status().boards[0]).toMatchObject({ state: 'closed', unrecorded: 0 })
  })
})

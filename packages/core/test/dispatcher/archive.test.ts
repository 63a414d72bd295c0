import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard, type SqliteAdapter } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { createBoardWithTasks, ForkedWorkers, ofType, recordEvents, taskAndRuns } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A dispatcher on a one-task board that has spawned its worker; archives that task from another connection. */
async function archivedUnderItsWorker(adapter: SqliteAdapter, path: string, onClaimEnded: 'terminate' | 'report') {
  await createBoardWithTasks(adapter, path, 1)
  const workers = new ForkedWorkers()
  const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, onClaimEnded })
  const events = recordEvents(dispatcher)
  cleanups.push(async () => {
    await workers.killAll()
    await dispatcher.stop()
  })
  await dispatcher.tick()
  const [taskId] = workers.spawned
  await workers.started(taskId!)
  const other = await openBoard({ path, adapter })
  try {
    await other.archive(taskId!)
  } finally {
    await other.close()
  }
  return { workers, dispatcher, events, taskId: taskId! }
}

describe('Dispatcher and a running task archived under its worker', () => {
  it('terminates the worker on its next tick and writes nothing over the archive; reported only, the worker runs on', async () => {
    const adapter = await createBetterSqlite3()
    const dir = tempDir()

    // Control: with onClaimEnded 'report' the archived task's worker keeps running, tick after tick.
    const control = await archivedUnderItsWorker(adapter, join(dir, 'control.db'), 'report')
    for (let step = 0; step < 3; step += 1) await control.dispatcher.tick()
    expect(ofType(control.events, 'claim-ended').map((event) => [event.reason, event.status, event.action])).toEqual([['archived', 'archived', 'report']])
    expect(ofType(control.events, 'terminating')).toEqual([])
    if (!control.workers.alive(control.taskId)) throw new Error('control did not reproduce the hazard: the archived task\'s worker is gone')
    expect(control.dispatcher.status().workers).toBe(1)
    await control.workers.killAll()

    // Protection (the default).
    const path = join(dir, 'board.db')
    const { workers, dispatcher, events, taskId } = await archivedUnderItsWorker(adapter, path, 'terminate')
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'claim-ended')).toMatchObject([{ taskId, reason: 'archived', status: 'archived', action: 'terminate', pid: workers.pid(taskId) }])
    expect(ofType(events, 'terminating').map((event) => [event.taskId, event.reason, event.step])).toEqual([[taskId, 'archived', 'SIGTERM']])
    expect(await workers.exited(taskId)).toEqual({ code: null, signal: 'SIGTERM' })
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recorded')).toMatchObject([{ taskId, decision: { action: 'leave' } }])
    const { task, runs } = await taskAndRuns(adapter, path, taskId)
    expect(task).toMatchObject({ status: 'archived', consecutiveFailures: 0, claimedBy: null })
    expect(runs.map((run) => run.outcome)).toEqual(['archived'])
    expect(dispatcher.status().workers).toBe(0)
  })
})

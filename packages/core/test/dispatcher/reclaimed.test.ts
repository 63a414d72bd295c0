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

/**
 * A dispatcher on a one-task board that has spawned its worker; then, from another connection, the
 * claim is found expired (a clock far ahead) and taken back, and another claimer takes the task.
 */
async function reclaimedUnderItsWorker(adapter: SqliteAdapter, path: string, onClaimEnded: 'terminate' | 'report') {
  await createBoardWithTasks(adapter, path, 1)
  const clock = { now: 1_000_000 }
  const workers = new ForkedWorkers()
  const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, now: () => clock.now, leaseMs: 3_000, onClaimEnded })
  const events = recordEvents(dispatcher)
  cleanups.push(async () => {
    await workers.killAll()
    await dispatcher.stop()
  })
  await dispatcher.tick()
  const [taskId] = workers.spawned
  await workers.started(taskId!)
  const other = await openBoard({ path, adapter, clock: () => clock.now })
  try {
    const released = await other.releaseStaleClaims(clock.now + 10_000)
    expect(released.map((claim) => claim.taskId)).toEqual([taskId])
    await other.claimNext({ workerId: 'the-next-claimer', pid: process.pid, host: 'elsewhere', leaseMs: 3_600_000 })
  } finally {
    await other.close()
  }
  return { workers, dispatcher, events, taskId: taskId! }
}

describe('Dispatcher and a claim taken back under its worker', () => {
  it('terminates its worker once the claim was taken back and the task runs under another claim, which it leaves alone; reported only, two workers run one task', async () => {
    const adapter = await createBetterSqlite3()
    const dir = tempDir()

    // Control: reported only, the old worker runs on beside the next claimer: two workers on one task.
    const controlPath = join(dir, 'control.db')
    const control = await reclaimedUnderItsWorker(adapter, controlPath, 'report')
    await control.dispatcher.tick()
    await control.dispatcher.tick()
    expect(ofType(control.events, 'claim-ended').map((event) => [event.reason, event.status, event.action])).toEqual([['reclaimed', 'running', 'report']])
    const controlTask = (await taskAndRuns(adapter, controlPath, control.taskId)).task
    if (!control.workers.alive(control.taskId) || controlTask.claimedBy !== 'the-next-claimer') {
      throw new Error('control did not reproduce the hazard: the old worker is not running beside the next claimer')
    }
    await control.workers.killAll()

    // Protection (the default).
    const path = join(dir, 'board.db')
    const { workers, dispatcher, events, taskId } = await reclaimedUnderItsWorker(adapter, path, 'terminate')
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'claim-ended')).toMatchObject([{ taskId, reason: 'reclaimed', status: 'running', action: 'terminate' }])
    expect(ofType(events, 'terminating').map((event) => [event.reason, event.step])).toEqual([['reclaimed', 'SIGTERM']])
    expect(await workers.exited(taskId)).toEqual({ code: null, signal: 'SIGTERM' })
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recorded')).toMatchObject([{ taskId, decision: { action: 'leave' } }])
    // The next claimer's claim is untouched, and the dispatcher never started the task again.
    const { task, runs } = await taskAndRuns(adapter, path, taskId)
    expect(task).toMatchObject({ status: 'running', claimedBy: 'the-next-claimer', consecutiveFailures: 0 })
    expect(runs.map((run) => [run.workerId.startsWith('dispatcher:') ? 'dispatcher' : run.workerId, run.outcome])).toEqual([
      ['dispatcher', 'expired'],
      ['the-next-claimer', null],
    ])
    expect(workers.spawned).toEqual([taskId])
  })
})

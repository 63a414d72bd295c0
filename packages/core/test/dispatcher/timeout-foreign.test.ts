import { afterEach, describe, expect, it } from 'vitest'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { Dispatcher, openBoard, workerFromChildProcess } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { ForkedWorkers, ofType, recordEvents, taskAndRuns, waitFor } from './helpers.js'

const WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Dispatcher and claims it did not make', () => {
  it('a claim of another worker on this host past its maxRuntimeMs is reported once and left alone: no signal, no fail', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    const clock = { now: 1_000_000 }
    // Another worker process on this host, not started by the dispatcher, holds a claim; it
    // reports any SIGTERM it receives, and SIGKILL would end it.
    const foreign = fork(WORKER, ['foreign', 'ignore-sigterm'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    const foreignMessages: string[] = []
    foreign.on('message', (message: { type: string }) => foreignMessages.push(message.type))
    const foreignExit = workerFromChildProcess(foreign).exit
    cleanups.push(async () => {
      if (foreign.exitCode === null && foreign.signalCode === null) foreign.kill('SIGKILL')
      await foreignExit
    })
    await waitFor('the foreign worker to start', () => foreignMessages.includes('started'))
    const other = await openBoard({ path, adapter, clock: () => clock.now })
    cleanups.push(() => other.close())
    const { id: taskId } = await other.createTask({ title: 'theirs', maxRuntimeMs: 1_000 })
    const claim = (await other.claimNext({ workerId: 'another-dispatcher', pid: foreign.pid!, host: 'this-host', leaseMs: 3_600_000 }))!

    const workers = new ForkedWorkers()
    const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, now: () => clock.now, host: 'this-host', graceMs: 0 })
    const events = recordEvents(dispatcher)
    cleanups.push(async () => {
      await workers.killAll()
      await dispatcher.stop()
    })
    clock.now += 1_000
    await dispatcher.tick()
    await dispatcher.tick()
    clock.now += 60_000
    await dispatcher.tick()

    expect(ofType(events, 'overran').map((event) => [event.owner, event.action, event.claim])).toEqual([
      ['other', 'report', { taskId, runId: claim.runId, workerId: 'another-dispatcher', pid: foreign.pid, host: 'this-host', startedAt: 1_000_000, maxRuntimeMs: 1_000 }],
    ])
    expect(ofType(events, 'terminating')).toEqual([])
    expect(ofType(events, 'reclaimed')).toEqual([])
    expect(dispatcher.status().boards[0]).toMatchObject({ overrunning: 1, workers: 0 })
    expect(workers.spawned).toEqual([])
    const { task, runs } = await taskAndRuns(adapter, path, taskId)
    expect(task).toMatchObject({ status: 'running', claimedBy: 'another-dispatcher', consecutiveFailures: 0 })
    expect(runs.map((run) => run.outcome)).toEqual([null])
    expect(foreign.exitCode === null && foreign.signalCode === null).toBe(true)

    // Its owner ends the claim: nothing is overrunning any more.
    await other.complete(taskId, claim.claimToken)
    await dispatcher.tick()
    expect(dispatcher.status().boards[0]!.overrunning).toBe(0)
    // Every signal would have been reported (SIGTERM) or would have ended it (SIGKILL) by now.
    foreign.send({ type: 'exit', code: 0 })
    expect(await foreignExit).toEqual({ code: 0, signal: null })
    expect(foreignMessages).toEqual(['started'])
  })
})

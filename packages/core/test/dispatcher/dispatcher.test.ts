import { afterEach, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Dispatcher, openBoard, type SqliteAdapter } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { createBoardWithTasks, ForkedWorkers, ofType, recordEvents } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setUp(boardCount: number, tasksPerBoard: number, options: { concurrency?: number } = {}) {
  const adapter: SqliteAdapter = await createBetterSqlite3()
  const dir = tempDir()
  const paths = Array.from({ length: boardCount }, (_, i) => join(dir, `board-${i}.db`))
  for (const path of paths) await createBoardWithTasks(adapter, path, tasksPerBoard)
  const workers = new ForkedWorkers()
  const dispatcher = new Dispatcher({ boards: paths, adapter, spawn: workers.spawn, concurrency: options.concurrency ?? 2 })
  const events = recordEvents(dispatcher)
  cleanups.push(async () => {
    await workers.killAll()
    await dispatcher.stop()
  })
  return { adapter, paths, workers, dispatcher, events }
}

describe('Dispatcher', () => {
  it('claims up to the concurrency limit per board, spawns real workers, reaps them first thing next tick and records their exits', async () => {
    const { adapter, paths, workers, dispatcher, events } = await setUp(2, 3, { concurrency: 2 })
    await dispatcher.tick()
    expect(ofType(events, 'spawned')).toHaveLength(4)
    expect(dispatcher.status().boards.map((board) => board.workers)).toEqual([2, 2])

    // One worker succeeds, one fails; the others keep running.
    const [first, second] = workers.running()
    await workers.finish(first!, 0)
    await workers.finish(second!, 3)
    events.length = 0
    await dispatcher.tick()

    // Reaping comes before any per-board work of the tick.
    expect(events[0]).toMatchObject({ type: 'reaped' })
    expect(events[1]).toMatchObject({ type: 'reaped' })
    const reaped = ofType(events, 'reaped')
    expect(reaped.map((event) => event.exit.code).sort()).toEqual([0, 3])
    const recorded = ofType(events, 'recorded')
    expect(recorded.map((event) => [event.taskId, event.decision.action, event.outcome])).toEqual(
      expect.arrayContaining([
        [first, 'complete', 'written'],
        [second, 'fail', 'written'],
      ]),
    )
    // The freed slots were refilled in the same tick.
    expect(ofType(events, 'spawned')).toHaveLength(2)
    expect(dispatcher.status().workers).toBe(4)

    const board = await openBoard({ path: paths[0]!, adapter })
    try {
      const finished = (await board.getTask(first!)) ?? (await board.getTask(second!))
      expect(finished).toBeDefined()
    } finally {
      await board.close()
    }

    // Drain: every worker exits, every exit is recorded, every connection closed.
    const draining = dispatcher.stop({ drain: true })
    await workers.finishAll(0)
    await draining
    expect(dispatcher.status()).toMatchObject({ stopped: true, workers: 0 })
    expect(dispatcher.status().boards.every((board) => board.state === 'closed' && board.unrecorded === 0)).toBe(true)
  })

  it('a failing worker is retried on a later claim and the tick event summarises each tick', async () => {
    const { workers, dispatcher, events } = await setUp(1, 1, { concurrency: 1 })
    await dispatcher.tick()
    const [taskId] = workers.running()
    await workers.finish(taskId!, 1)
    await dispatcher.tick()
    // maxAttempts defaults to 3: the failed attempt went back to ready and was claimed again.
    expect(workers.spawned).toEqual([taskId, taskId])
    const ticks = ofType(events, 'tick')
    expect(ticks.map((event) => [event.reaped, event.spawned])).toEqual([
      [0, 1],
      [1, 1],
    ])
  })

  it('timer-driven ticks run until stop(), which finishes the running tick and closes every board', async () => {
    const adapter: SqliteAdapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    await createBoardWithTasks(adapter, path, 1)
    const workers = new ForkedWorkers()
    let ticks = 0
    let resolveSecondTick!: () => void
    const secondTick = new Promise<void>((resolve) => (resolveSecondTick = resolve))
    const dispatcher = new Dispatcher({
      boards: [path],
      adapter,
      spawn: workers.spawn,
      intervalMs: 1,
      events: (event) => {
        if (event.type === 'tick' && ++ticks === 2) resolveSecondTick()
      },
    })
    cleanups.push(() => workers.killAll())
    dispatcher.start()
    await secondTick
    await dispatcher.stop()
    const after = ticks
    expect(dispatcher.status().boards[0]!.state).toBe('closed')
    await dispatcher.tick()
    expect(ticks).toBe(after)
  })
  it('takes back expired and crashed claims, and heartbeats the claims of its own running workers so they never expire', async () => {
    const adapter: SqliteAdapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    await createBoardWithTasks(adapter, path, 4)
    const clock = { now: 1_000_000 }
    // Two claims of a dispatcher that is gone: one with a dead pid, one whose lease runs out.
    const deadPid = spawnSync(process.execPath, ['-e', '0']).pid
    const other = await openBoard({ path, adapter, clock: () => clock.now })
    try {
      await other.claimNext({ workerId: 'gone', pid: deadPid, host: 'this-host', leaseMs: 3_600_000 })
      await other.claimNext({ workerId: 'elsewhere', pid: process.pid, host: 'other-host', leaseMs: 1_000 })
    } finally {
      await other.close()
    }
    const workers = new ForkedWorkers()
    const dispatcher = new Dispatcher({
      boards: [path], adapter, spawn: workers.spawn, concurrency: 2, host: 'this-host', graceMs: 0,
      leaseMs: 3_000, now: () => clock.now,
    })
    const events = recordEvents(dispatcher)
    cleanups.push(async () => {
      await workers.killAll()
      await dispatcher.stop()
    })
    clock.now += 1_000
    await dispatcher.tick()
    const reclaimed = ofType(events, 'reclaimed')
    expect(reclaimed.map((event) => [event.reason, event.claims.length])).toEqual([
      ['expired', 1],
      ['crashed', 1],
    ])
    expect(ofType(events, 'spawned')).toHaveLength(2)

    // Our own workers run past their 3 s lease: the dispatcher heartbeats every leaseMs / 3.
    for (let step = 0; step < 6; step += 1) {
      clock.now += 1_000
      await dispatcher.tick()
    }
    expect(ofType(events, 'reclaimed')).toHaveLength(2)
    expect(dispatcher.status().workers).toBe(2)
    await workers.finishAll(0)
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recorded').map((event) => event.outcome)).toEqual(['written', 'written'])
  })
  it('a listener that throws never stops a tick (it becomes a process warning)', async () => {
    const { dispatcher, workers } = await setUp(1, 2, { concurrency: 2 })
    const warnings: string[] = []
    const onWarning = (warning: Error) => warnings.push(warning.message)
    process.on('warning', onWarning)
    cleanups.push(async () => {
      process.off('warning', onWarning)
    })
    dispatcher.on('spawned', () => {
      throw new Error('a broken logger')
    })
    await dispatcher.tick()
    expect(workers.spawned).toHaveLength(2)
    await new Promise<void>((resolve) => process.nextTick(resolve))
    await new Promise<void>((resolve) => setImmediate(resolve))
    expect(warnings.filter((message) => message.includes('a broken logger'))).toHaveLength(2)
  })
  it('refuses options that cannot work, naming the field', async () => {
    const adapter: SqliteAdapter = await createBetterSqlite3()
    const spawn = () => ({ pid: undefined, exit: Promise.resolve({ code: 0, signal: null }) })
    expect(() => new Dispatcher({ boards: 'a.db' as never, adapter, spawn })).toThrow(/options.boards/)
    expect(() => new Dispatcher({ boards: ['a.db'], adapter, spawn: undefined as never })).toThrow(/options.spawn/)
    expect(() => new Dispatcher({ boards: ['a.db'], adapter, spawn, concurrency: 0 })).toThrow(/options.concurrency/)
    expect(() => new Dispatcher({ boards: ['a.db'], adapter, spawn, leaseMs: 1000, heartbeatEveryMs: 1000 })).toThrow(/options.heartbeatEveryMs/)
    expect(() => new Dispatcher({ boards: ['a.db'], adapter, spawn, killGraceMs: -1 })).toThrow(/options.killGraceMs/)
    expect(() => new Dispatcher({ boards: ['a.db'], adapter, spawn, onOverrun: 'kill' as never })).toThrow(/options.onOverrun: expected one of 'terminate', 'report'/)
    expect(() => new Dispatcher({ boards: ['a.db'], adapter, spawn, onClaimEnded: 'ignore' as never })).toThrow(/options.onClaimEnded/)
    const dispatcher = new Dispatcher({ boards: ['a.db'], adapter, spawn })
    await expect(dispatcher.stop({ drain: true, drainTimeoutMs: Number.NaN })).rejects.toThrow(/options.drainTimeoutMs/)
    // A dispatcher that never ran opens no board to stop (no a.db appears).
    await dispatcher.stop()
    expect(existsSync('a.db')).toBe(false)
  })
})

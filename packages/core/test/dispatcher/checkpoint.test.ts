import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard, type SqliteBoard as Board } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { createBoardWithTasks, ofType, recordEvents } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Dispatcher periodic checkpoint', () => {
  it('runs a passive checkpoint at most every checkpointEveryMs by the injected clock and reports it in a checkpointed event and status', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    await createBoardWithTasks(adapter, path, 0)
    let now = 1_000_000
    const clock = () => now
    let board: Board | undefined
    const dispatcher = new Dispatcher({
      boards: [path],
      adapter,
      now: clock,
      checkpointEveryMs: 60_000,
      spawn: () => {
        throw new Error('no tasks expected')
      },
      openBoard: async (boardPath, boardAdapter) => (board = await openBoard({ path: boardPath, adapter: boardAdapter, clock })),
      // No task is ready (every one waits for an assignee nobody has), so the WAL only grows.
      assignee: 'nobody',
    })
    cleanups.push(() => dispatcher.stop())
    const events = recordEvents(dispatcher)
    const checkpoints = () => ofType(events, 'checkpointed')

    await dispatcher.tick()
    expect(checkpoints()).toEqual([])
    await board!.createTasks(Array.from({ length: 20 }, (_, i) => ({ title: `t${i}` })))

    now += 59_999
    await dispatcher.tick()
    expect(checkpoints()).toEqual([])

    now += 1
    await dispatcher.tick()
    expect(checkpoints()).toHaveLength(1)
    const [first] = checkpoints()
    expect(first).toMatchObject({ board: path, at: now, result: { mode: 'PASSIVE', busy: 0 } })
    expect(first!.result.walFrames).toBeGreaterThan(0)
    expect(first!.result.checkpointedFrames).toBe(first!.result.walFrames)
    expect(dispatcher.status().boards[0]!.lastCheckpoint).toEqual(first!.result)
    expect((await board!.health()).lastCheckpoint).toEqual(first!.result)

    now += 1
    await dispatcher.tick()
    now += 59_998
    await dispatcher.tick()
    expect(checkpoints()).toHaveLength(1)

    now += 1
    await dispatcher.tick()
    expect(checkpoints()).toHaveLength(2)
    expect(ofType(events, 'error')).toEqual([])
  })

  it('rejects a checkpointEveryMs that is not a positive number', async () => {
    const adapter = await createBetterSqlite3()
    expect(() => new Dispatcher({ boards: ['x.db'], adapter, spawn: () => ({ pid: 1, exit: new Promise(() => {}) }), checkpointEveryMs: 0 })).toThrow(
      /checkpointEveryMs/,
    )
  })
})

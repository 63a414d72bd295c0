import { expect, it } from 'vitest'
import { postgres } from '@kanban-db/adapter-postgres'
import { Dispatcher, type ClaimedTask, type WorkerExit, type WorkerHandle } from '@kanban-db/core'
import { ofType, recordEvents, waitFor } from './helpers.js'
import { afterTest, describePostgres, freshPostgresBoard, serverUrl, terminateBackend, tickLockHolder } from './postgres.js'

/** A worker that runs until the test ends it. */
function heldWorker(): { handle: WorkerHandle; finish: () => void } {
  let finish!: () => void
  const exit = new Promise<WorkerExit>((resolve) => (finish = () => resolve({ code: 0, signal: null })))
  return { handle: { pid: undefined, exit, kill: () => finish() }, finish }
}

/**
 * Two dispatchers on one Postgres board, each through an engine of its own (its own sessions, as two
 * hosts would have). The first one's `spawn` stops inside its turn until the test lets it go; while
 * it is stopped there, the second one ticks.
 */
async function round(tickLock: boolean) {
  const target = freshPostgresBoard()
  const board = await target.open()
  await board.createTasks([{ title: 'first', priority: 2 }, { title: 'second', priority: 1 }])
  const workers: Array<{ finish: () => void }> = []
  let inTurn = false
  let letGo!: () => void
  const gate = new Promise<void>((resolve) => (letGo = resolve))
  let entered!: () => void
  const stoppedInTurn = new Promise<void>((resolve) => (entered = resolve))
  const spawnedInsideFirstTurn: string[] = []

  const first = new Dispatcher({
    boards: [{ name: 'board', engine: postgres({ connectionString: serverUrl(), schema: target.schema, poolSize: 2 }) }],
    tickLock,
    concurrency: 1,
    spawn: async () => {
      inTurn = true
      entered()
      await gate
      inTurn = false
      const worker = heldWorker()
      workers.push(worker)
      return worker.handle
    },
  })
  const second = new Dispatcher({
    boards: [{ name: 'board', engine: postgres({ connectionString: serverUrl(), schema: target.schema, poolSize: 2 }) }],
    tickLock,
    concurrency: 1,
    spawn: (task: ClaimedTask) => {
      if (inTurn) spawnedInsideFirstTurn.push(task.title)
      const worker = heldWorker()
      workers.push(worker)
      return worker.handle
    },
  })
  afterTest(async () => {
    letGo()
    for (const worker of workers) worker.finish()
    await Promise.all([first.stop(), second.stop()])
  })
  const firstEvents = recordEvents(first)
  const secondEvents = recordEvents(second)
  const firstTick = first.tick()
  await stoppedInTurn
  await second.tick()
  return { target, board, first, second, firstTick, letGo, firstEvents, secondEvents, spawnedInsideFirstTurn }
}

describePostgres('Dispatcher on a Postgres board: one tick at a time', () => {
  it("skips the board while another dispatcher is in its turn (the server's advisory lock), and takes over once the holder's session is terminated", async () => {
    // Control: without the tick lock, the second dispatcher's turn runs inside the first one's.
    const control = await round(false)
    if (control.spawnedInsideFirstTurn.length === 0) {
      throw new Error('control did not reproduce the hazard: without the tick lock the second dispatcher did not run its turn inside the first one\'s')
    }
    expect(control.spawnedInsideFirstTurn).toEqual(['second'])
    control.letGo()
    await control.firstTick

    // With the lock: the second dispatcher skips the board, and says so.
    const locked = await round(true)
    expect(locked.spawnedInsideFirstTurn).toEqual([])
    expect(ofType(locked.secondEvents, 'skipped')).toMatchObject([{ board: 'board', reason: 'locked' }])
    expect(locked.second.status().boards[0]).toMatchObject({ path: 'board', engine: 'postgres', state: 'open', skipped: 1, spawned: 0 })

    // The holder's session dies (an operator, a failover, a network cut): the server drops its lock,
    // with no cleanup by anyone, and the other dispatcher takes the board's next turn.
    const admin = await locked.target.open()
    const holder = await tickLockHolder(admin, locked.target.schema)
    expect(holder).toBeDefined()
    await terminateBackend(admin, holder!)
    await locked.second.tick()
    expect(ofType(locked.secondEvents, 'skipped')).toHaveLength(1)
    expect(locked.spawnedInsideFirstTurn).toEqual(['second'])
    expect(locked.second.status().boards[0]).toMatchObject({ skipped: 1, spawned: 1 })

    // The first dispatcher, let go, ends its turn (its lock's release is a no-op on the dead
    // session) and works on: once the second is out of its turn, it takes the lock again.
    locked.letGo()
    await locked.firstTick
    expect(locked.first.status().boards[0]).toMatchObject({ spawned: 1 })
    locked.firstEvents.length = 0
    await locked.first.tick()
    expect(ofType(locked.firstEvents, 'skipped')).toEqual([])
    expect(ofType(locked.firstEvents, 'error')).toEqual([])
    expect(ofType(locked.secondEvents, 'error')).toEqual([])
    await waitFor('no session holding the lock', async () => (await tickLockHolder(admin, locked.target.schema)) === undefined)
    const running = await locked.board.listTasks({ status: 'running' })
    expect(running.map((task) => task.title).sort()).toEqual(['first', 'second'])
  })
})

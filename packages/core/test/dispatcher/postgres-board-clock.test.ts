import { expect, it } from 'vitest'
import { postgres } from '@kanban-db/adapter-postgres'
import { Dispatcher, type WorkerExit, type WorkerHandle } from '@kanban-db/core'
import { ofType, recordEvents, waitFor } from './helpers.js'
import { afterTest, describePostgres, freshPostgresBoard, serverUrl } from './postgres.js'

const HOUR = 3_600_000

function heldWorkers(): { spawned: string[]; spawn: () => WorkerHandle; finishAll: () => void } {
  const finishers: Array<() => void> = []
  const spawned: string[] = []
  return {
    spawned,
    spawn: () => {
      let finish!: () => void
      const exit = new Promise<WorkerExit>((resolve) => (finish = () => resolve({ code: 0, signal: null })))
      finishers.push(finish)
      spawned.push('worker')
      return { pid: undefined, exit, kill: () => finish() }
    },
    finishAll: () => finishers.forEach((finish) => finish()),
  }
}

/** A dispatcher on the board in `schema` whose host clock is `skewMs` off. */
function skewedDispatcher(schema: string, skewMs: number, onOverrun: 'terminate' | 'report' = 'report') {
  const workers = heldWorkers()
  const dispatcher = new Dispatcher({
    boards: [{ name: 'board', engine: postgres({ connectionString: serverUrl(), schema, poolSize: 2 }) }],
    now: () => Date.now() + skewMs,
    onOverrun,
    spawn: workers.spawn,
  })
  afterTest(async () => {
    workers.finishAll()
    await dispatcher.stop()
  })
  return { dispatcher, workers, events: recordEvents(dispatcher) }
}

/** A board with one task claimed by a live worker on another host (lease 10 min, maxRuntimeMs 30 min), written by the server's clock. */
async function boardWithLiveForeignClaim() {
  const target = freshPostgresBoard()
  const board = await target.open()
  const task = await board.createTask({ title: 'long job', maxRuntimeMs: 30 * 60_000 })
  const claim = await board.claimNext({ workerId: 'worker-elsewhere', host: 'another-host', pid: 4242, leaseMs: 10 * 60_000 })
  expect(claim?.id).toBe(task.id)
  return { target, board, claim: claim! }
}

describePostgres('Dispatcher on a Postgres board: the board clock', () => {
  it("a dispatcher whose host clock runs an hour ahead neither takes back a live claim nor calls it overrunning (the server's clock judges)", async () => {
    // Control: what a dispatcher judging the stored times by its own host clock asks the board
    // (the calls it made with its \`now\`): the live claim is overrunning and expired, and is taken back.
    const control = await boardWithLiveForeignClaim()
    const hostNow = Date.now() + HOUR
    const overran = await control.board.overrunningClaims(hostNow)
    const reclaimed = await control.board.releaseStaleClaims(hostNow, { isAlive: () => true, host: 'dispatcher-host' })
    if (reclaimed.length === 0) throw new Error('control did not reproduce the hazard: judged by a clock an hour ahead, the live claim was not taken back')
    expect(overran).toMatchObject([{ taskId: control.claim.id, workerId: 'worker-elsewhere' }])
    expect(reclaimed).toMatchObject([{ taskId: control.claim.id, status: 'ready' }])

    // The dispatcher as it is: its host clock an hour ahead changes nothing on the board.
    const subject = await boardWithLiveForeignClaim()
    const dispatcher = skewedDispatcher(subject.target.schema, HOUR)
    await dispatcher.dispatcher.tick()
    expect(ofType(dispatcher.events, 'reclaimed')).toEqual([])
    expect(ofType(dispatcher.events, 'overran')).toEqual([])
    expect(ofType(dispatcher.events, 'error')).toEqual([])
    expect(dispatcher.workers.spawned).toEqual([])
    const task = await subject.board.getTask(subject.claim.id)
    expect(task).toMatchObject({ status: 'running', claimedBy: 'worker-elsewhere', claimExpiresAt: subject.claim.claimExpiresAt })
    expect((await subject.board.runs(subject.claim.id)).map((run) => [run.workerId, run.outcome])).toEqual([['worker-elsewhere', null]])
  })

  it("a dispatcher whose host clock runs an hour behind still stops its worker past maxRuntimeMs by the server's clock", async () => {
    const target = freshPostgresBoard()
    const board = await target.open()
    const task = await board.createTask({ title: 'short job', maxRuntimeMs: 1000 })
    const { dispatcher, workers, events } = skewedDispatcher(target.schema, -HOUR, 'terminate')
    await dispatcher.tick()
    expect(workers.spawned).toHaveLength(1)
    // Wait (by the server's clock, never by a timer here) until the claim is past its maxRuntimeMs.
    await waitFor('the claim to run past maxRuntimeMs by the server clock', async () => (await board.overrunningClaims()).length === 1)

    // Control: judged by the dispatcher's host clock, the overrunning claim is not overrunning.
    const judgedByHost = await board.overrunningClaims(Date.now() - HOUR)
    if (judgedByHost.length !== 0) throw new Error('control did not reproduce the hazard: judged by a clock an hour behind, the claim was seen overrunning')

    await dispatcher.tick()
    expect(ofType(events, 'overran')).toMatchObject([{ owner: 'this', action: 'terminate', claim: { taskId: task.id } }])
    expect(ofType(events, 'terminating')).toMatchObject([{ taskId: task.id, reason: 'timed-out', step: 'SIGTERM' }])
    // The worker exits on SIGTERM; the next tick writes the timeout (and claims the retry).
    await dispatcher.tick()
    const runs = await board.runs(task.id)
    expect(runs[0]).toMatchObject({ outcome: 'timed-out' })
    expect(ofType(events, 'error')).toEqual([])
  })
})

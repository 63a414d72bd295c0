import { strict as assert } from 'node:assert'
import { ALL_ENGINES, type CaseContext, type ConformanceCase } from '../case.js'
import { claimsOf, finishWithFreshWorker, follow, messagesOf, readLedger, reclaimAll, SIGNAL_LEASE_MS, startSignalFleet, unsettled, type SignalPlan } from './work.signals-scenario.js'

const PROCESSES = 3
/** Per process: 3 quick tasks, then one that finishes after SIGTERM and one that never finishes, then 2 it must never claim. */
const PLAN: SignalPlan = { quick: 3, drain: 1, hold: 1, later: 2 }

/**
 * `board.work` worker processes get SIGTERM mid-task, each wired with the documented one-liner
 * `process.once('SIGTERM', () => worker.stop({ timeoutMs }))` (a long deadline, 120 s) and exiting
 * after `await worker.stopped`. 3 processes, two tasks at a time each, on tasks of their own: each
 * has completed its quick tasks and holds two long ones when the signal comes. One of them returns
 * once the process got SIGTERM: it must be completed (within the deadline, with no next claim
 * chained into its commit). The other never returns: the parent then sends SIGINT, wired to
 * `stop({ timeoutMs: 0 })` (the second signal brings the deadline forward), and it must be released
 * (`shutdown`: back to ready, run `released`). Every process exits with code 0 and reports no error,
 * failure or lost claim. On the board, read row by row: every task done exactly once or back to
 * ready, no task running, no claim token or open run left, nothing completed twice (events and runs
 * agree), the low-priority tasks never claimed (a stopping worker claims nothing); then a fresh
 * `board.work` finishes what was handed back, each task done exactly once.
 *
 * Control, on a board of its own: the same processes without the wiring (Node's default SIGTERM
 * ends them at once) leave running claims of dead processes behind, which `releaseStaleClaims`
 * cannot take back before their leases end (called with a time just before the earliest expiry:
 * nothing) and takes back only after they ended. That is what the wiring buys: no task waits a
 * lease for a worker that was told to stop. No timing is asserted: waits have generous deadlines.
 */
export const workSigtermMidTask: ConformanceCase = {
  id: 'concurrency.work-sigterm-mid-task',
  title:
    'board.work processes get SIGTERM mid-task with the documented stop wiring: every task done exactly once or back to ready, no run or claim left, nothing claimed while stopping (control without the wiring: claims of dead processes that only lease expiry recovers)',
  tier: 'concurrency',
  engines: ALL_ENGINES,
  requires: ['sharedFile', 'wal'],
  timeoutMs: 240_000,
  async run(context) {
    await control(context)
    await wired(context)
  },
}

/** Without the wiring, SIGTERM kills the workers mid-task: their claims stay until the lease ends. */
async function control(context: CaseContext): Promise<void> {
  const fleet = await startSignalFleet(context, { name: 'control', processes: PROCESSES, plan: PLAN, stopWiring: 'none' })
  for (const worker of fleet.workers) void worker.handle.kill('SIGTERM')
  const exits = await Promise.all(fleet.workers.map((worker) => worker.handle.exited))
  assert.deepEqual(exits.map((exit) => exit.signal), fleet.workers.map(() => 'SIGTERM'), 'control: the unwired workers did not die by SIGTERM')
  const pids = new Set(fleet.workers.map((worker) => worker.pid))
  const left = claimsOf(await readLedger(fleet.board), pids)
  if (left.length === 0) throw new Error('control did not reproduce the hazard: workers killed by SIGTERM without the stop wiring left no running claim behind')
  const earliest = Math.min(...left.map((task) => task.claimExpiresAt!))
  const early = await fleet.board.releaseStaleClaims(earliest - 1)
  assert.deepEqual(early, [], 'control: releaseStaleClaims took back a claim whose lease had not ended')
  const released = await reclaimAll(fleet.board, left.map((task) => task.id), SIGNAL_LEASE_MS + 60_000)
  context.note(
    `control (no stop wiring): SIGTERM killed ${fleet.workers.length} workers mid-task, leaving ${left.length} running claims of dead processes; releaseStaleClaims before the earliest lease end took back none, after the leases ended ${released.length}`,
  )
}

async function wired(context: CaseContext): Promise<void> {
  const fleet = await startSignalFleet(context, { name: 'board', processes: PROCESSES, plan: PLAN, stopWiring: 'signals' })
  for (const worker of fleet.workers) void worker.handle.kill('SIGTERM')
  // Each drain task returns once its process got SIGTERM, and is completed while the worker stops.
  await Promise.all(fleet.workers.map((worker) => follow(worker, (messages) => worker.tasks.drain.every((id) => messages.some((message) => message.kind === 'completed' && message.id === id)))))
  // The hold tasks never return: the second signal brings the deadline forward.
  for (const worker of fleet.workers) void worker.handle.kill('SIGINT')
  const settled = await Promise.allSettled(fleet.workers.map((worker) => worker.handle.result))
  const died = settled.flatMap((outcome, index) => (outcome.status === 'rejected' ? [`${fleet.workers[index]!.name}: ${String(outcome.reason)}`] : []))
  assert.deepEqual(died, [], 'a wired worker did not stop and exit on its own')
  const exits = await Promise.all(fleet.workers.map((worker) => worker.handle.exited))
  assert.deepEqual(exits.map((exit) => exit.code), fleet.workers.map(() => 0), 'a wired worker did not exit with code 0')

  for (const [index, worker] of fleet.workers.entries()) {
    const result = (settled[index] as PromiseFulfilledResult<Awaited<typeof worker.handle.result>>).value
    assert.deepEqual(result.trouble, [], `${worker.name} reported errors, failures or lost claims`)
    assert.deepEqual(
      result.summary,
      { completed: PLAN.quick + PLAN.drain, failed: 0, released: PLAN.hold, lost: 0, errors: 0 },
      `${worker.name}: completed its quick and drain tasks, released its hold task, nothing else`,
    )
    const claimedLater = messagesOf(worker, 'claimed').filter((message) => worker.tasks.later.includes(message.id))
    assert.deepEqual(claimedLater, [], `${worker.name} claimed a task while it was stopping`)
    const released = messagesOf(worker, 'released').map((message) => [message.id, message.reason])
    assert.deepEqual(released, worker.tasks.hold.map((id) => [id, 'shutdown']), `${worker.name}: its hold task must be released with reason shutdown`)
  }

  const ledger = await readLedger(fleet.board)
  assert.deepEqual(unsettled(ledger, fleet.ids), [], 'after the stop the board is not settled (every task done once or ready, no claim, no open run)')
  const expect = (ids: readonly string[], status: string, runs: ReadonlyArray<string>, events: Readonly<Record<string, number>>) => {
    for (const id of ids) {
      const task = ledger.get(id)!
      assert.equal(task.status, status, `task ${id}`)
      assert.deepEqual(task.runs, runs, `task ${id}: its runs`)
      for (const [kind, count] of Object.entries(events)) assert.equal(task.events[kind] ?? 0, count, `task ${id}: ${kind} events`)
    }
  }
  for (const worker of fleet.workers) {
    expect([...worker.tasks.quick, ...worker.tasks.drain], 'done', ['completed'], { claimed: 1, completed: 1 })
    expect(worker.tasks.hold, 'ready', ['released'], { claimed: 1, released: 1, completed: 0 })
    expect(worker.tasks.later, 'ready', [], { claimed: 0, completed: 0 })
  }

  // What was handed back is claimable at once: a fresh worker finishes everything, each task once.
  const handedBack = fleet.workers.flatMap((worker) => [...worker.tasks.hold, ...worker.tasks.later])
  const trouble = await finishWithFreshWorker(fleet.board, fleet.ids, { deadlineMs: 60_000 })
  assert.deepEqual(trouble, [], 'the fresh worker reported trouble')
  const after = await readLedger(fleet.board)
  assert.deepEqual(unsettled(after, fleet.ids), [], 'after the fresh worker the board is not settled')
  const notDone = fleet.ids.filter((id) => after.get(id)!.status !== 'done')
  assert.deepEqual(notDone, [], 'the fresh worker left tasks undone')
  for (const worker of fleet.workers) for (const id of worker.tasks.hold) assert.deepEqual(after.get(id)!.runs, ['released', 'completed'], `task ${id}: its runs`)
  context.note(
    `wired: SIGTERM mid-task in ${fleet.workers.length} workers: ${PROCESSES * (PLAN.quick + PLAN.drain)} tasks done exactly once (the drain tasks completed while stopping), ${PROCESSES * PLAN.hold} released at the deadline (SIGINT), ${PROCESSES * PLAN.later} never claimed, every process exited 0 with no error; no claim or open run left; a fresh board.work then finished the ${handedBack.length} handed back, each once`,
  )
}

import { strict as assert } from 'node:assert'
import { ALL_ENGINES, type CaseContext, type ConformanceCase } from '../case.js'
import { boardNow, claimsOf, finishWithFreshWorker, readLedger, reclaimAll, SIGNAL_LEASE_MS, startSignalFleet, unsettled, until, type SignalFleet, type SignalPlan } from './work.signals-scenario.js'

const PROCESSES = 3
/** Per process: 3 quick tasks, then two that never finish (both slots), then 2 it had no slot for. */
const PLAN: SignalPlan = { quick: 3, drain: 0, hold: 2, later: 2 }

/**
 * `board.work` worker processes (wired for SIGTERM as documented, which SIGKILL bypasses) are killed
 * with SIGKILL while each holds two tasks, after completing others. Their claims stay on the board,
 * running, held by dead processes. `releaseStaleClaims` does not take them back before their leases
 * end (called with a time just before the earliest expiry: nothing), and takes every one back to
 * ready after (run `expired`, one `expired` event each); a fresh `board.work` then finishes every
 * task of the board: each done exactly once (one `completed` event, one completed run), the killed
 * claims' runs `expired` then `completed`, no claim or open run left, nothing the dead workers
 * completed done again.
 *
 * Control, on a board of its own: the same kill, then no `releaseStaleClaims`: once every lease has
 * ended by the board's clock, a fresh `board.work` completes the other tasks, looks again, and
 * leaves the killed claims running: the worker loop alone never recovers a dead worker's tasks;
 * `releaseStaleClaims` (a dispatcher's period, or `detectCrashedWorkers`) does. No timing is
 * asserted: waits have generous deadlines.
 */
export const workSigkillMidTask: ConformanceCase = {
  id: 'corruption.work-sigkill-mid-task',
  title:
    'board.work processes killed with SIGKILL mid-task: releaseStaleClaims takes every claim back after its lease (never before), a fresh board.work finishes all, each task done exactly once (control without releaseStaleClaims: the dead claims stay running)',
  tier: 'corruption',
  engines: ALL_ENGINES,
  requires: ['sharedFile', 'wal'],
  timeoutMs: 240_000,
  async run(context) {
    await control(context)
    await recovered(context)
  },
}

/** Kills every worker with SIGKILL mid-task and returns the running claims they left (checked to be exactly their held tasks). */
async function killMidTask(context: CaseContext, name: string): Promise<{ fleet: SignalFleet; held: string[] }> {
  const fleet = await startSignalFleet(context, { name, processes: PROCESSES, plan: PLAN, stopWiring: 'signals' })
  await Promise.all(fleet.workers.map((worker) => worker.handle.kill('SIGKILL')))
  const exits = await Promise.all(fleet.workers.map((worker) => worker.handle.exited))
  assert.deepEqual(exits.map((exit) => exit.signal), fleet.workers.map(() => 'SIGKILL'), `${name}: the workers did not die by SIGKILL`)
  const ledger = await readLedger(fleet.board)
  const left = claimsOf(ledger, new Set(fleet.workers.map((worker) => worker.pid))).map((task) => task.id).sort()
  const held = fleet.workers.flatMap((worker) => worker.tasks.hold).sort()
  assert.deepEqual(left, held, `${name}: the running claims of the dead workers are not exactly the tasks they held`)
  const runningOthers = [...ledger.values()].filter((task) => task.status === 'running' && !held.includes(task.id)).map((task) => task.id)
  assert.deepEqual(runningOthers, [], `${name}: tasks running that no killed worker held`)
  for (const worker of fleet.workers) {
    for (const id of worker.tasks.quick) assert.equal(ledger.get(id)!.status, 'done', `${name}: quick task ${id} of ${worker.name} was not done before the kill`)
  }
  return { fleet, held }
}

async function control(context: CaseContext): Promise<void> {
  const { fleet, held } = await killMidTask(context, 'control')
  const killed = await readLedger(fleet.board)
  const lastExpiry = Math.max(...held.map((id) => killed.get(id)!.claimExpiresAt!))
  await until('every killed claim\'s lease ended by the board\'s clock', async () => (await boardNow(context)) > lastExpiry, SIGNAL_LEASE_MS + 60_000)
  const trouble = await finishWithFreshWorker(fleet.board, fleet.ids, { leaveRunning: held, deadlineMs: 60_000 })
  assert.deepEqual(trouble, [], 'control: the fresh worker reported trouble')
  const ledger = await readLedger(fleet.board)
  const stillRunning = held.filter((id) => ledger.get(id)!.status === 'running')
  if (stillRunning.length === 0) throw new Error('control did not reproduce the hazard: without releaseStaleClaims the killed claims were recovered anyway')
  assert.deepEqual(stillRunning, held, 'control: some killed claims were recovered without releaseStaleClaims')
  context.note(
    `control (no releaseStaleClaims): SIGKILL left ${held.length} running claims of dead processes; after their leases ended a fresh board.work completed the other ${fleet.ids.length - held.length} tasks and left all ${stillRunning.length} running`,
  )
}

async function recovered(context: CaseContext): Promise<void> {
  const { fleet, held } = await killMidTask(context, 'board')
  const before = await readLedger(fleet.board)
  const earliest = Math.min(...held.map((id) => before.get(id)!.claimExpiresAt!))
  const early = await fleet.board.releaseStaleClaims(earliest - 1)
  assert.deepEqual(early, [], 'releaseStaleClaims took back a claim whose lease had not ended')

  const released = await reclaimAll(fleet.board, held, SIGNAL_LEASE_MS + 60_000)
  assert.deepEqual(released.map((claim) => claim.taskId).sort(), held, 'releaseStaleClaims took back other claims than the killed ones')
  assert.deepEqual(released.map((claim) => claim.status), held.map(() => 'ready'), 'a killed claim did not go back to ready')
  const reclaimed = await readLedger(fleet.board)
  assert.deepEqual(unsettled(reclaimed, fleet.ids), [], 'after releaseStaleClaims the board is not settled (every task done once or ready, no claim, no open run)')
  for (const id of held) {
    const task = reclaimed.get(id)!
    assert.deepEqual(task.runs, ['expired'], `task ${id}: its runs after releaseStaleClaims`)
    assert.equal(task.events['expired'] ?? 0, 1, `task ${id}: one expired event`)
  }

  const trouble = await finishWithFreshWorker(fleet.board, fleet.ids, { deadlineMs: 60_000 })
  assert.deepEqual(trouble, [], 'the fresh worker reported trouble')
  const after = await readLedger(fleet.board)
  assert.deepEqual(unsettled(after, fleet.ids), [], 'after the fresh worker the board is not settled')
  assert.deepEqual(fleet.ids.filter((id) => after.get(id)!.status !== 'done'), [], 'the fresh worker left tasks undone')
  for (const id of held) assert.deepEqual(after.get(id)!.runs, ['expired', 'completed'], `task ${id}: its runs`)
  for (const worker of fleet.workers) {
    for (const id of worker.tasks.quick) assert.deepEqual(after.get(id)!.runs, ['completed'], `task ${id} (completed by ${worker.name} before the kill) ran again`)
  }
  context.note(
    `SIGKILL mid-task in ${fleet.workers.length} workers left ${held.length} running claims of dead processes; releaseStaleClaims took none back before the earliest lease end and all ${released.length} after (to ready, run expired); a fresh board.work finished all ${fleet.ids.length} tasks, each done exactly once`,
  )
}

import { strict as assert } from 'node:assert'
import type { Board } from '@kanban-db/core'
import type { PostgresBoardSpec } from '../board-spec.js'
import { halfAppliedRows } from '../board-rows.js'
import type { CaseContext, ConformanceCase } from '../case.js'
import type { FleetLaneResult } from '../child-tasks/postgres-fleet-worker.js'
import type { FrozenLocked, FrozenResult } from '../child-tasks/postgres-frozen-worker.js'
import type { TaskHandle } from '../task-handle.js'
import { FleetMonitor, postgresSpec, ServerProbe, waitFor } from './postgres.scenario.js'

/** The frozen worker's `transactionTimeoutMs`: the engine has the server end its silent transaction 10 s after that. */
const TRANSACTION_TIMEOUT_MS = 3_000
/** What the engine adds to transactionTimeoutMs for the server's idle_in_transaction_session_timeout. */
const SERVER_GRACE_MS = 10_000
/**
 * How long (by the server's own clock, `state_change` in pg_stat_activity) the frozen session may sit
 * idle in its transaction before the case says the server did not end it: transactionTimeoutMs +
 * 10 s, plus 5 s for a loaded server to get round to it.
 */
const IDLE_BOUND_S = (TRANSACTION_TIMEOUT_MS + SERVER_GRACE_MS + 5_000) / 1000
/** The frozen worker's lease: over long before the server gives up on its session. */
const LEASE_MS = 1_500
/** Tasks the other workers claim and complete while the frozen one holds its locks. */
const OTHER_TASKS = 200
const WORKER_PROCESSES = 2
/** The frozen worker's id, as its claims name it. */
const FROZEN_WORKER = 'frozen'
/** Errors a late write of the frozen worker may get: the server ended its session, its own timeout fired, or its claim is gone. */
const LATE_ERRORS = ['CONNECTION_LOST', 'CLAIM_MISMATCH', 'TRANSACTION_TIMEOUT']

/**
 * A worker process frozen with SIGSTOP inside a write transaction that holds two row locks: its own
 * task (claimed with a 1.5 s lease, then heartbeated inside the transaction) and the next ready task
 * (claimed inside it, uncommitted). Its board has `transactionTimeoutMs` 3 s, so the engine has the
 * server end a transaction whose client went silent 13 s after its last statement
 * (`idle_in_transaction_session_timeout`). While it is frozen: once its lease is over by the server's
 * clock, `releaseStaleClaims` passes over the locked task without waiting; two other worker
 * processes claim and complete the 200 other tasks (SKIP LOCKED passes the locked ready row) while
 * the lock is still held and nobody is blocked by it. The server then ends the frozen session within
 * the bound (it says how long the session sat idle), rolling back the claim made inside it, and
 * `releaseStaleClaims` takes the expired task back; the workers complete both. Continued (SIGCONT),
 * the frozen worker's late writes (its completion inside the dead transaction, then both completions
 * on their own) all fail. Every task is done, completed once (one completed event, one completed run),
 * nothing half applied, claims whole, and of the frozen worker's claims only the one it committed
 * before freezing is on the board.
 *
 * Control, first, on a board of its own: the same frozen worker whose board turns the server's timeout
 * off (`pool: { idle_in_transaction_session_timeout: 0 }`) still holds the lock after sitting idle
 * past the same bound, and `releaseStaleClaims` cannot take its expired task back: it stays running.
 */
export const frozenClientHoldsLocks: ConformanceCase = {
  id: 'postgres.frozen-client-holds-locks',
  title:
    'a worker frozen (SIGSTOP) inside a transaction holding row locks: others claim and complete around it (SKIP LOCKED), the server ends its session after transactionTimeoutMs + 10 s, releaseStaleClaims recovers its task, its late writes fail',
  tier: 'concurrency',
  engines: ['postgres'],
  requires: [],
  timeoutMs: 150_000,
  async run(context) {
    const waitBoundMs = IDLE_BOUND_S * 1000 + 30_000

    // Control: with the server's timeout off, the frozen session keeps its locks past the bound.
    {
      const spec = postgresSpec(context, 'control')
      const board = await context.openBoard({ name: 'control' })
      await board.createTasks([{ title: 'held', priority: 2 }, { title: 'pending', priority: 1 }])
      const probe = await ServerProbe.open(spec)
      try {
        const { worker, locked } = await freeze(context, spec, probe, true)
        let idle = 0
        await waitFor(
          async () => {
            const backend = await probe.backend(locked.backendPid)
            if (backend === undefined) throw new Error('control did not reproduce the hazard: the server ended the frozen session although its board turned the timeout off')
            idle = backend.stateSeconds
            return idle > IDLE_BOUND_S && (await probe.serverNow()) >= locked.held.claimExpiresAt!
          },
          'the frozen session (server timeout off) sitting idle in its transaction past the bound',
          waitBoundMs,
        )
        const released = await board.releaseStaleClaims()
        const status = (await board.getTask(locked.held.id))?.status
        context.note(
          `control (idle_in_transaction_session_timeout ${locked.idleTimeout} in the frozen session): it still held its locks after ${idle.toFixed(1)} s idle (bound ${IDLE_BOUND_S} s); ` +
            `releaseStaleClaims released [${released.map((claim) => claim.taskId).join(', ')}]; its expired task is ${status}`,
        )
        if (released.some((claim) => claim.taskId === locked.held.id) || status !== 'running') {
          throw new Error('control did not reproduce the hazard: the expired task of the frozen worker was taken back although its row stayed locked')
        }
        await worker.kill('SIGKILL')
      } finally {
        await probe.close()
        await board.close()
      }
    }

    const spec = postgresSpec(context)
    const board = await context.openBoard()
    const held = await board.createTask({ title: 'held by the frozen worker', priority: 2 })
    const pending = await board.createTask({ title: 'claimed inside the frozen transaction', priority: 1 })
    const others = await board.createTasks(Array.from({ length: OTHER_TASKS }, (_, index) => ({ title: `other ${index}` })))
    const probe = await ServerProbe.open(spec)
    const fleet: TaskHandle<{ lanes: FleetLaneResult[] }>[] = []
    try {
      const { worker: frozen, locked } = await freeze(context, spec, probe, false)
      assert.equal(locked.held.id, held.id, 'the frozen worker claimed another task than the first')
      assert.equal(locked.pending?.id, pending.id, 'the frozen worker claimed another task inside its transaction than the second')
      const expected = `${(TRANSACTION_TIMEOUT_MS + SERVER_GRACE_MS) / 1000}s`
      assert.equal(locked.idleTimeout, expected, `the frozen session's idle_in_transaction_session_timeout is ${locked.idleTimeout}, not transactionTimeoutMs + 10 s`)

      // Its lease runs out by the server's clock; releaseStaleClaims passes over the locked row at once.
      await waitFor(async () => (await probe.serverNow()) >= locked.held.claimExpiresAt!, "the frozen worker's lease running out by the server's clock", 30_000)
      const whileLocked = await board.releaseStaleClaims()
      assert.deepEqual(whileLocked.map((claim) => claim.taskId), [], 'releaseStaleClaims took back a task whose row the frozen transaction still locks')
      assert.equal((await probe.backend(locked.backendPid))?.state, 'idle in transaction', 'the frozen session ended before the locked task could be checked')

      // Other workers claim and complete everything else around the locked rows.
      for (let index = 0; index < WORKER_PROCESSES; index++) fleet.push(context.spawn('postgres-fleet-worker', { board: spec, workerId: `w${index}`, lanes: 1 }))
      for (const worker of fleet) assert.equal(await worker.receive(), 'ready')
      const monitor = new FleetMonitor(fleet)
      for (const worker of fleet) worker.send('go')
      await monitor.until(() => monitor.count >= OTHER_TASKS)
      const during = await probe.backend(locked.backendPid)
      assert.equal(during?.state, 'idle in transaction', `the frozen session ended (${during?.state ?? 'gone'}) before the other workers finished: they may have waited for it`)
      const blocked = await probe.session.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [locked.backendPid])
      assert.deepEqual(blocked, [], 'backends are waiting for the frozen session')
      assert.ok(!monitor.completed.has(held.id) && !monitor.completed.has(pending.id), 'a task locked by the frozen transaction was completed while it was frozen')
      const aroundSeconds = during!.stateSeconds

      // The server ends the frozen session within the bound; then its expired task is recovered.
      let idle = 0
      await waitFor(
        async () => {
          const backend = await probe.backend(locked.backendPid)
          if (backend === undefined) return true
          idle = backend.stateSeconds
          if (idle > IDLE_BOUND_S) {
            throw new Error(
              `the server did not end the frozen session: idle in transaction for ${idle.toFixed(1)} s, past transactionTimeoutMs + 10 s (+5 s) = ${IDLE_BOUND_S} s`,
            )
          }
          return false
        },
        'the server ending the frozen session',
        waitBoundMs,
      )
      const recovered = await board.releaseStaleClaims()
      assert.deepEqual(recovered.map((claim) => [claim.taskId, claim.status]), [[held.id, 'ready']], 'releaseStaleClaims did not take back the frozen worker\'s expired task')
      await monitor.until(() => monitor.completed.has(held.id) && monitor.completed.has(pending.id))

      // Let the frozen worker go: its late writes all fail.
      process.kill(frozen.pid, 'SIGCONT')
      frozen.send('resume')
      const { late } = await frozen.result
      const applied = late.filter((write) => write.ok || !LATE_ERRORS.includes(write.code!))
      assert.deepEqual(applied, [], 'late writes of the frozen worker were applied or failed otherwise than with ConnectionLost, ClaimMismatch or TransactionTimeout')

      for (const worker of fleet) worker.send('drain')
      const lanes = (await Promise.all(fleet.map((worker) => worker.result))).flatMap((result) => result.lanes)
      await verify(board, lanes, [held.id, pending.id, ...others.map((task) => task.id)], held.id)
      // Of the frozen worker's claims only the one it committed before freezing is on the board.
      const frozenClaims = (await board.events({ limit: 10_000 })).filter((event) => event.kind === 'claimed' && (event.payload as { workerId?: string } | null)?.workerId === FROZEN_WORKER)
      assert.deepEqual(frozenClaims.map((event) => event.taskId), [held.id], 'the claim made inside the frozen transaction was applied')
      context.note(
        `the frozen session held its 2 row locks while ${WORKER_PROCESSES} workers completed the ${OTHER_TASKS} other tasks (it had been idle ${aroundSeconds.toFixed(1)} s; nobody blocked) and releaseStaleClaims passed over its expired task; ` +
          `the server ended it after about ${idle.toFixed(1)} s idle (its idle_in_transaction_session_timeout ${locked.idleTimeout}: transactionTimeoutMs ${TRANSACTION_TIMEOUT_MS} ms + 10 s); releaseStaleClaims then recovered it and the workers completed both; ` +
          `late writes after SIGCONT: ${late.map((write) => `${write.write}: ${write.code}`).join('; ')}`,
      )
    } catch (error) {
      for (const worker of fleet) worker.send('abort')
      throw error
    } finally {
      await probe.close()
    }
  },
}

/** Starts the frozen worker on `spec`, waits until its transaction holds the locks, stops it (SIGSTOP) and checks the server sees it idle in that transaction. */
async function freeze(context: CaseContext, spec: PostgresBoardSpec, probe: ServerProbe, serverTimeoutOff: boolean): Promise<{ worker: TaskHandle<FrozenResult>; locked: FrozenLocked }> {
  const worker = context.spawn<FrozenResult>('postgres-frozen-worker', {
    board: spec,
    transactionTimeoutMs: TRANSACTION_TIMEOUT_MS,
    serverTimeoutOff,
    leaseMs: LEASE_MS,
    workerId: FROZEN_WORKER,
  })
  const locked = (await worker.receive()) as FrozenLocked
  assert.equal(locked.kind, 'locked')
  process.kill(worker.pid, 'SIGSTOP')
  const backend = await probe.backend(locked.backendPid)
  assert.equal(backend?.state, 'idle in transaction', `the frozen worker's backend is ${backend?.state ?? 'gone'}, not idle in its transaction`)
  assert.ok(locked.held.claimExpiresAt !== null, 'the frozen worker\'s claim has no expiry')
  return { worker, locked }
}

/** The end state: every task done and completed once, the recovered task with its expired run, no lane error, nothing half applied. */
async function verify(board: Board, lanes: readonly FleetLaneResult[], ids: readonly string[], recoveredId: string): Promise<void> {
  const failures = lanes.filter((lane) => Object.keys(lane.errors).length > 0 || lane.connectionLost > 0)
  assert.deepEqual(failures.map((lane) => ({ lane: lane.workerId, errors: lane.errors, lost: lane.connectionLost, samples: lane.errorSamples })), [], 'errors surfaced to the workers')
  const completedBy = new Map<string, string>()
  for (const lane of lanes) {
    for (const id of lane.completed) {
      assert.equal(completedBy.get(id), undefined, `task ${id} was completed by ${completedBy.get(id)} and ${lane.workerId}`)
      completedBy.set(id, lane.workerId)
    }
  }
  const missing = ids.filter((id) => !completedBy.has(id))
  assert.deepEqual(missing, [], 'tasks no worker completed')
  const statuses = await board.db.selectFrom('tasks').select('status').select((eb) => eb.fn.countAll<number>().as('n')).groupBy('status').execute()
  assert.deepEqual(statuses.map((row) => [row.status, Number(row.n)]), [['done', ids.length]], 'not every task is done')
  const completedEvents = await board.db
    .selectFrom('events')
    .select('task_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('kind', '=', 'completed')
    .groupBy('task_id')
    .execute()
  const twice = completedEvents.filter((row) => Number(row.n) !== 1).map((row) => row.task_id)
  assert.deepEqual(twice, [], 'tasks with more than one completed event')
  assert.equal(completedEvents.length, ids.length, 'tasks without a completed event')
  const runs = await board.db.selectFrom('task_runs').select(['task_id', 'outcome']).orderBy('started_at').orderBy('id').execute()
  const completedRuns = new Map<string, number>()
  for (const run of runs) if (run.outcome === 'completed') completedRuns.set(run.task_id, (completedRuns.get(run.task_id) ?? 0) + 1)
  assert.deepEqual(ids.filter((id) => completedRuns.get(id) !== 1), [], 'tasks without exactly one completed run')
  assert.deepEqual(runs.filter((run) => run.task_id === recoveredId).map((run) => run.outcome), ['expired', 'completed'], 'the recovered task does not have its expired run and then its completed one')
  assert.equal(runs.length, ids.length + 1, 'runs other than one per task and the expired one')
  assert.deepEqual(await halfAppliedRows(board, 1), [], 'half-applied rows')
}

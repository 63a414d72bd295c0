import { strict as assert } from 'node:assert'
import { halfAppliedRows } from '../board-rows.js'
import type { ConformanceCase } from '../case.js'
import type { VictimCommand, VictimMessage } from '../child-tasks/postgres-txn-victim.js'
import type { TaskHandle } from '../task-handle.js'
import { postgresSpec, ServerProbe, snapshotChanges } from './postgres.scenario.js'

/** Tasks on the board of the real run (each round finishes one). */
const TASKS = 10
/** How long the server may take to drop a terminated backend from pg_stat_activity. */
const BACKEND_GONE_MS = 30_000
/** No batch titles on these boards (see halfAppliedRows). */
const NO_BATCHES = 1

/**
 * A worker's backend is killed with `pg_terminate_backend` while its write transaction is open, at a
 * different point each round: the worker's write stops after its k-th row-changing statement (its
 * client asks `SELECT pg_backend_pid()` inside the transaction and tells the parent), the parent
 * terminates that backend and waits until the server no longer lists it, then lets the write go on.
 * Round 0 stops a `claimNext` after its claiming UPDATE; rounds 1.. stop a `completeAndClaimNext`
 * after its 1st, 2nd, ... row write, until a round's write has no statement left to stop after.
 * Each round: the worker gets `ConnectionLost`; the board's tasks, runs and events are exactly as
 * before the write (nothing of it applied); nothing is half applied; the same write, sent again on
 * the same board, succeeds. At the end every task is done, claimed once (one run, one `claimed`
 * event) and completed once.
 *
 * Control, first, on a board of its own: the same worker whose client answers BEGIN/COMMIT/ROLLBACK
 * itself (each statement its own transaction), stopped after the claim's UPDATE and killed there,
 * leaves a running task with no run and no `claimed` event, which the row check sees.
 */
export const backendTerminatedInTransaction: ConformanceCase = {
  id: 'postgres.backend-terminated-in-transaction',
  title:
    "a worker's backend terminated (pg_terminate_backend) inside its write transaction, at every row write of a claim and a completeAndClaimNext: ConnectionLost, nothing of it applied, the next write works, no task claimed twice",
  tier: 'txn',
  engines: ['postgres'],
  requires: [],
  timeoutMs: 180_000,
  async run(context) {
    // Control: the same statements, each committed on its own, are half there after the kill.
    const controlSpec = postgresSpec(context, 'control')
    const controlBoard = await context.openBoard({ name: 'control' })
    await controlBoard.createTasks([{ title: 'control 1' }, { title: 'control 2' }])
    const controlProbe = await ServerProbe.open(controlSpec)
    try {
      const victim = context.spawn<unknown>('postgres-txn-victim', { board: controlSpec, mode: 'autocommit', workerId: 'control-victim' })
      assert.equal(((await victim.receive()) as VictimMessage).kind, 'ready')
      const before = await controlProbe.snapshot()
      const round = await killMidWrite(victim, controlProbe, { op: 'claim', pauseAfter: 1 }, 'idle')
      if (round.kind !== 'killed') throw new Error('control: the claim ended before its first row write')
      const changes = snapshotChanges(before, await controlProbe.snapshot())
      const problems = await halfAppliedRows(controlBoard, NO_BATCHES)
      context.note(
        `control (each statement its own transaction, backend terminated after "${round.paused.statement}"): the worker got ${round.outcome.code}; ` +
          `the row check says ${problems.join('; ') || 'nothing'}; changed: ${changes.join('; ') || 'nothing'}`,
      )
      if (problems.length === 0) throw new Error('control did not reproduce the hazard: the claim killed between its statements left nothing half applied')
      victim.send({ op: 'stop' } satisfies VictimCommand)
      await victim.result
    } finally {
      await controlProbe.close()
      await controlBoard.close()
    }

    const spec = postgresSpec(context)
    const board = await context.openBoard()
    const ids = (await board.createTasks(Array.from({ length: TASKS }, (_, index) => ({ title: `task ${index}` })))).map((task) => task.id)
    const probe = await ServerProbe.open(spec)
    const victim = context.spawn<unknown>('postgres-txn-victim', { board: spec, mode: 'transaction', workerId: 'victim' })
    const seen: string[] = []
    try {
      assert.equal(((await victim.receive()) as VictimMessage).kind, 'ready')
      const plan: VictimCommand[] = [{ op: 'claim', pauseAfter: 1 }]
      for (let writes = 1; writes <= TASKS - 1; writes++) plan.push({ op: 'complete-and-claim', pauseAfter: writes })
      let rounds = 0
      let holding = false
      for (const [index, command] of plan.entries()) {
        const before = await probe.snapshot()
        const round = await killMidWrite(victim, probe, command, 'idle in transaction')
        if (round.kind === 'ran-through') {
          // The write had fewer row writes than pauseAfter: every point of it has been covered.
          assert.ok(round.outcome.ok, `round ${index}: the write (${command.op}) failed without being stopped: ${round.outcome.error}`)
          holding = round.outcome.holds !== undefined
          break
        }
        rounds += 1
        const where = `round ${index} (${command.op} stopped after row write ${round.paused.writes}: ${round.paused.statement})`
        seen.push(`${command.op}@${round.paused.writes}`)
        assert.equal(round.outcome.ok, false, `${where}: the write succeeded although its backend was terminated`)
        assert.equal(round.outcome.code, 'CONNECTION_LOST', `${where}: the worker got ${round.outcome.error}, not ConnectionLost`)
        const changes = snapshotChanges(before, await probe.snapshot())
        assert.deepEqual(changes, [], `${where}: part of the terminated transaction was applied`)
        const problems = await halfAppliedRows(board, NO_BATCHES)
        assert.deepEqual(problems, [], `${where}: the board is half applied`)
        // The next write on the same board (a fresh connection from the same pool) works.
        victim.send({ op: command.op } satisfies VictimCommand)
        const again = (await victim.receive()) as VictimMessage
        assert.ok(again.kind === 'outcome' && again.ok, `${where}: the same write sent again failed: ${again.kind === 'outcome' ? again.error : again.kind}`)
        holding = again.holds !== undefined
      }
      assert.ok(rounds >= 3, `only ${rounds} rounds stopped a write mid-transaction`)

      // Finish the board: complete what is held and everything left, with no more kills.
      for (;;) {
        victim.send({ op: holding ? 'complete-and-claim' : 'claim' } satisfies VictimCommand)
        const outcome = (await victim.receive()) as VictimMessage
        assert.ok(outcome.kind === 'outcome' && outcome.ok, `finishing the board: ${outcome.kind === 'outcome' ? outcome.error : outcome.kind}`)
        if (!holding && outcome.holds === undefined) break
        holding = outcome.holds !== undefined
      }
      victim.send({ op: 'stop' } satisfies VictimCommand)
      await victim.result

      const problems = await halfAppliedRows(board, NO_BATCHES)
      assert.deepEqual(problems, [], 'after the rounds the board is half applied')
      for (const id of ids) {
        const task = await board.getTask(id)
        assert.equal(task?.status, 'done', `task ${id} is ${task?.status}, not done`)
        assert.equal(task?.attempts, 1, `task ${id} was claimed ${task?.attempts} times`)
      }
      const events = await board.events({ limit: 10_000 })
      for (const kind of ['claimed', 'completed'] as const) {
        const perTask = new Map<string, number>()
        for (const event of events) if (event.kind === kind) perTask.set(event.taskId, (perTask.get(event.taskId) ?? 0) + 1)
        const wrong = ids.filter((id) => perTask.get(id) !== 1)
        assert.deepEqual(wrong, [], `tasks without exactly one ${kind} event`)
      }
      context.note(
        `${rounds} writes stopped mid-transaction and their backend terminated (${seen.join(', ')}): each got ConnectionLost, left the board exactly as before, and succeeded when sent again; ${TASKS} tasks each claimed and completed once`,
      )
    } finally {
      await probe.close()
    }
  },
}

type Round =
  | { readonly kind: 'killed'; readonly paused: Extract<VictimMessage, { kind: 'paused' }>; readonly outcome: Extract<VictimMessage, { kind: 'outcome' }> }
  | { readonly kind: 'ran-through'; readonly outcome: Extract<VictimMessage, { kind: 'outcome' }> }

/**
 * Sends `command`; when the write stops, checks its backend is in `expectState` (inside its open
 * transaction; `idle` for the control, which has none), terminates it and lets the write go on.
 */
async function killMidWrite(victim: TaskHandle, probe: ServerProbe, command: VictimCommand, expectState: string): Promise<Round> {
  victim.send(command)
  const first = (await victim.receive()) as VictimMessage
  if (first.kind === 'outcome') return { kind: 'ran-through', outcome: first }
  assert.equal(first.kind, 'paused')
  const paused = first as Extract<VictimMessage, { kind: 'paused' }>
  const state = await probe.backend(paused.backendPid)
  assert.equal(state?.state, expectState, `the stopped write's backend ${paused.backendPid} is ${state?.state ?? 'gone'}, not ${expectState}`)
  await probe.terminate(paused.backendPid, BACKEND_GONE_MS)
  victim.send('go')
  const outcome = (await victim.receive()) as VictimMessage
  assert.equal(outcome.kind, 'outcome')
  return { kind: 'killed', paused, outcome: outcome as Extract<VictimMessage, { kind: 'outcome' }> }
}

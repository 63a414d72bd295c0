import { strict as assert } from 'node:assert'
import { setTimeout as delay } from 'node:timers/promises'
import type { Board } from '@kanban-db/core'
import type { BoardSpec } from '../board-spec.js'
import { halfAppliedRows } from '../board-rows.js'
import { ALL_ENGINES, type CaseContext, type ConformanceCase } from '../case.js'
import { CRASH_WRITER_BATCH, type CrashWriterAck } from '../child-tasks/crash-writer.js'

const ROUNDS = 20
const LEASE_MS = 60_000

/**
 * `kill -9` of a writer process at random points, 20 rounds on one board: every write the writer
 * acknowledged over IPC before it died is on the board, nothing is half applied (every batch whole,
 * every task with its one `created` event, every claim with its run and event; on SQLite also
 * `integrity_check` ok), and the claims it held (still `running`, with its dead pid, until
 * something reclaims them) go back to `ready` through `releaseStaleClaims` once their lease is over.
 * On Postgres the writer dies mid-transaction on the server, which rolls it back: the same checks
 * read the rows (there is no `integrity_check`).
 * Controls, on a board of their own: a writer that acknowledges from inside its open transaction and
 * is killed there loses that acknowledged task, and the check sees the loss; a writer that writes a
 * batch one task per transaction and is killed after 2 of 5 leaves a half batch, and the row check
 * sees it.
 */
export const kill9Writer: ConformanceCase = {
  id: 'corruption.kill-9-writer',
  title:
    'kill -9 of a writer at random points (20 rounds): every acknowledged commit survives, nothing half applied (integrity ok on SQLite), its claims recovered by releaseStaleClaims',
  tier: 'corruption',
  engines: ALL_ENGINES,
  requires: ['sharedFile'],
  timeoutMs: 300_000,
  async run(context) {
    const control = context.boardSpec('control')
    const spec = context.boardSpec()
    for (const seed of [await context.openBoard({ name: 'control' }), await context.openBoard()]) await seed.close()

    // Control: an acknowledgement given before the commit is lost by the kill, and the check sees it.
    const early = await killWriter(context, control, { mode: 'ack-before-commit', killAfterAcks: 1 })
    const controlMissing = await missingTasks(context, 'control', early.created)
    context.note(`control (ack before commit): ${controlMissing.length} of ${early.created.length} acknowledged tasks missing after kill -9`)
    if (controlMissing.length === 0) throw new Error('control did not reproduce the hazard: a task acknowledged before its commit survived the kill')
    // Control: a batch written without its transaction is half there after the kill, and the row check sees it.
    await killWriter(context, control, { mode: 'half-batch', killAfterAcks: 2 })
    const controlBoard = await context.openBoard({ name: 'control' })
    const halfBatch = await halfAppliedRows(controlBoard, CRASH_WRITER_BATCH).finally(() => controlBoard.close())
    context.note(`control (a batch one task per transaction, killed after 2): the row check says ${halfBatch.join('; ') || 'nothing'}`)
    if (!halfBatch.some((problem) => problem.startsWith('batch control has 2 of'))) {
      throw new Error('control did not reproduce the hazard: the row check did not see the half-written batch')
    }

    let acknowledged = 0
    let recovered = 0
    for (let round = 0; round < ROUNDS; round++) {
      const killAfterAcks = 1 + Math.floor(Math.random() * 60)
      const { created, claimed, pid } = await killWriter(context, spec, { mode: 'honest', killAfterAcks, extraDelayMs: round % 2 === 0 ? Math.random() * 20 : 0 })
      acknowledged += created.length

      const board = await context.openBoard()
      try {
        const missing = await missingTasks(context, 'board', created, board)
        assert.deepEqual(missing, [], `round ${round}: ${missing.length} acknowledged tasks are missing after kill -9 (pid ${pid})`)
        const halfApplied = await halfAppliedRows(board, CRASH_WRITER_BATCH)
        assert.deepEqual(halfApplied.slice(0, 10), [], `round ${round}: half-applied writes after kill -9 (pid ${pid})`)

        // The dead writer's claims are still running (nothing else reclaims them) ...
        const stuck = await board.db.selectFrom('tasks').select(['id', 'worker_pid', 'status']).where('status', '=', 'running').execute()
        assert.ok(stuck.every((task) => Number(task.worker_pid) === pid), `round ${round}: running tasks of another pid than the killed writer's`)
        for (const id of claimed) {
          const task = await board.getTask(id)
          assert.equal(task?.status, 'running', `round ${round}: acknowledged claim ${id} is ${task?.status}, not running, before any reclaim`)
        }
        // ... until the stale-claim path runs after their lease (twice the lease: on Postgres the lease was set by the server's clock).
        const released = await board.releaseStaleClaims(Date.now() + 2 * LEASE_MS)
        const releasedIds = new Set(released.map((claim) => claim.taskId))
        for (const task of stuck) assert.ok(releasedIds.has(task.id), `round ${round}: stale claim ${task.id} was not released`)
        const stillRunning = await board.listTasks({ status: 'running' })
        assert.deepEqual(stillRunning.map((task) => task.id), [], `round ${round}: claims of the dead writer are still running after releaseStaleClaims`)
        for (const id of claimed) {
          const status = (await board.getTask(id))?.status
          assert.ok(status === 'ready' || status === 'failed', `round ${round}: released claim ${id} is ${status}`)
        }
        recovered += released.length
      } finally {
        await board.close()
      }
      if (spec.engine === 'sqlite') {
        const integrity = await context.child<{ integrity: string[] }>('read-rows', { path: spec.path, table: 'tasks' })
        assert.deepEqual(integrity.integrity, ['ok'], `round ${round}: integrity_check after kill -9`)
      }
    }
    const whole = spec.engine === 'sqlite' ? 'nothing half applied and integrity ok' : 'nothing half applied (rows checked; Postgres has no integrity_check)'
    context.note(`${ROUNDS} rounds: ${acknowledged} acknowledged tasks all present, ${recovered} stale claims of killed writers recovered, ${whole} each round`)
  },
}

interface KillOptions {
  readonly mode: 'honest' | 'ack-before-commit' | 'half-batch'
  /** Kill once this many `created`/`claimed` acknowledgements have arrived. */
  readonly killAfterAcks: number
  /** Then wait this long before the kill, so it lands at an arbitrary point of the next write. */
  readonly extraDelayMs?: number
}

/** Starts a crash writer on `board`, kills it with SIGKILL after some acknowledgements, returns what it acknowledged. */
async function killWriter(context: CaseContext, board: BoardSpec, options: KillOptions) {
  const writer = context.spawn('crash-writer', { board, mode: options.mode, leaseMs: LEASE_MS })
  const ready = (await writer.receive()) as CrashWriterAck
  assert.equal(ready.kind, 'ready')
  for (let acks = 0; acks < options.killAfterAcks; acks++) await writer.receive()
  // Fault timing, not coordination: the kill lands wherever the writer happens to be.
  if (options.extraDelayMs) await delay(options.extraDelayMs)
  const exit = await writer.kill('SIGKILL')
  assert.equal(exit.signal, 'SIGKILL', 'the writer was not killed by SIGKILL')
  const acks = writer.received as CrashWriterAck[]
  return {
    pid: writer.pid,
    created: acks.flatMap((ack) => (ack.kind === 'created' ? [ack.id] : [])),
    claimed: acks.flatMap((ack) => (ack.kind === 'claimed' ? [ack.id] : [])),
  }
}

async function missingTasks(context: CaseContext, name: string, ids: readonly string[], open?: Board): Promise<string[]> {
  const board = open ?? (await context.openBoard({ name }))
  try {
    const missing: string[] = []
    for (const id of ids) if ((await board.getTask(id)) === undefined) missing.push(id)
    return missing
  } finally {
    if (!open) await board.close()
  }
}

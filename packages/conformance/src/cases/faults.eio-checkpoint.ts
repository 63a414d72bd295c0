import { strict as assert } from 'node:assert'
import type { ConformanceCase } from '../case.js'
import { assertPlanFired, assertRecovered, inserts, requireStrace, runArmedPlan, seedBoard } from './faults.plan.js'

/**
 * EIO on the first write to the database file, which in WAL mode only a checkpoint makes: the
 * checkpoint fails with TransientIO, the next checkpoint completes, nothing is lost.
 */
export const faultsEioCheckpoint: ConformanceCase = {
  id: 'faults.eio-checkpoint',
  title: 'EIO during a checkpoint (strace): TransientIO, the next checkpoint completes, still WAL, nothing acknowledged lost',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const path = context.path('board.db')
    const seed = await seedBoard(context, path, 5)
    // Armed right before the first checkpoint: its first write to the database file fails.
    const plan = { file: path, faults: [{ syscall: 'pwrite64', error: 'EIO', when: '1..1' }] }
    const run = await runArmedPlan(context, path, plan, [
      { op: 'open' },
      ...inserts('c', 8),
      { op: 'arm' },
      { op: 'checkpoint' },
      { op: 'checkpoint' },
      ...inserts('d', 4),
      { op: 'read-fresh' },
    ])
    assertPlanFired(run)
    const { results } = run
    context.note(`${run.injected} calls made to fail`)
    const checkpoints = results.filter((result) => result.step.op === 'checkpoint')
    assert.equal(checkpoints[0]?.ok, false, 'the fault did not hit the first checkpoint')
    assert.equal(checkpoints[1]?.ok, true, `the checkpoint after the fault window failed: ${checkpoints[1]?.message}`)
    await assertRecovered(context, path, results, { code: 'TRANSIENT_IO', sqliteCodePrefix: 'SQLITE_IOERR', seed })
  },
}

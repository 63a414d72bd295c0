import type { ConformanceCase } from '../case.js'
import type { FaultStep } from '../child-tasks/faults-script.js'
import { assertPlanFired, assertRecovered, requireStrace, runArmedPlan, seedBoard } from './faults.plan.js'

/** EIO on reads of the database file (fresh connections read it): TransientIO, the next read succeeds. */
export const faultsEioDbRead: ConformanceCase = {
  id: 'faults.eio-db-read',
  title: 'EIO on database reads (strace): TransientIO with SQLite code kept, the next read succeeds, integrity ok',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const path = context.path('board.db')
    const seed = await seedBoard(context, path, 200)
    // Armed after one fresh read: the next fresh read's first two reads of the database file fail.
    const plan = { file: path, faults: [{ syscall: 'pread64', error: 'EIO', when: '1..2' }] }
    const reads: FaultStep[] = Array.from({ length: 4 }, () => ({ op: 'read-fresh' }) as const)
    const run = await runArmedPlan(context, path, plan, [{ op: 'open' }, { op: 'read-fresh' }, { op: 'arm' }, ...reads, { op: 'insert', label: 'after' }, { op: 'read-fresh' }])
    assertPlanFired(run)
    const { results } = run
    context.note(`${run.injected} calls made to fail`)
    await assertRecovered(context, path, results, { code: 'TRANSIENT_IO', sqliteCodePrefix: 'SQLITE_IOERR', seed })
  },
}

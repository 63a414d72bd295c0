import type { ConformanceCase } from '../case.js'
import { assertPlanFired, assertRecovered, inserts, requireStrace, runArmedPlan, seedBoard } from './faults.plan.js'

/** ENOSPC on -wal writes (disk full): DiskFull, nothing acknowledged lost, work resumes after the window. */
export const faultsEnospcWalWrite: ConformanceCase = {
  id: 'faults.enospc-wal-write',
  title: 'ENOSPC on -wal writes (strace): DiskFull with SQLITE_FULL kept, work resumes after the window, nothing acknowledged lost',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const path = context.path('board.db')
    const seed = await seedBoard(context, path, 5)
    // Armed after two commits: the plan fails the first 3 -wal writes made after that, which
    // are the next commit's, whatever calls the driver made to open the board and commit before.
    const plan = { file: `${path}-wal`, faults: [{ syscall: 'pwrite64', error: 'ENOSPC', when: '1..3' }] }
    const run = await runArmedPlan(context, path, plan, [{ op: 'open' }, ...inserts('f-before', 2), { op: 'arm' }, ...inserts('f', 14), { op: 'read-fresh' }])
    assertPlanFired(run)
    const { results } = run
    context.note(`${run.injected} calls made to fail`)
    await assertRecovered(context, path, results, { code: 'DISK_FULL', sqliteCodePrefix: 'SQLITE_FULL', seed })
  },
}

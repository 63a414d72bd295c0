import type { ConformanceCase } from '../case.js'
import { assertPlanFired, assertRecovered, inserts, requireStrace, runUnderPlan, seedBoard } from './faults.plan.js'

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
    const plan = { file: `${path}-wal`, faults: [{ syscall: 'pwrite64', error: 'ENOSPC', when: '7..9' }] }
    const run = await runUnderPlan(context, path, plan, [{ op: 'open' }, ...inserts('f', 16), { op: 'read-fresh' }])
    assertPlanFired(run)
    const { results } = run
    context.note(`${run.injected} calls made to fail`)
    await assertRecovered(context, path, results, { code: 'DISK_FULL', sqliteCodePrefix: 'SQLITE_FULL', seed })
  },
}

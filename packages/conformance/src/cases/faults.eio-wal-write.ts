import type { ConformanceCase } from '../case.js'
import { assertPlanFired, assertRecovered, inserts, requireStrace, runArmedPlan, seedBoard } from './faults.plan.js'

/** EIO on writes to the -wal: the commit fails with TransientIO, the next one succeeds, nothing acknowledged is lost. */
export const faultsEioWalWrite: ConformanceCase = {
  id: 'faults.eio-wal-write',
  title: 'EIO on -wal writes (strace): TransientIO with SQLite code kept, not wedged, still WAL, nothing acknowledged lost',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const path = context.path('board.db')
    const seed = await seedBoard(context, path, 5)
    // Armed after two commits: the plan fails the first 2 -wal writes made after that, which
    // are the next commit's, whatever calls the driver made to open the board and commit before.
    const plan = { file: `${path}-wal`, faults: [{ syscall: 'pwrite64', error: 'EIO', when: '1..2' }] }
    const run = await runArmedPlan(context, path, plan, [{ op: 'open' }, ...inserts('w-before', 2), { op: 'arm' }, ...inserts('w', 14), { op: 'read-fresh' }])
    assertPlanFired(run)
    const { results } = run
    context.note(`${run.injected} calls made to fail`)
    await assertRecovered(context, path, results, { code: 'TRANSIENT_IO', sqliteCodePrefix: 'SQLITE_IOERR', seed })
  },
}

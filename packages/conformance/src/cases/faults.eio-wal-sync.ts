import type { ConformanceCase } from '../case.js'
import { assertPlanFired, assertRecovered, inserts, requireStrace, runArmedPlan, seedBoard } from './faults.plan.js'

/**
 * EIO on the -wal's sync (fsync or fdatasync, whichever the SQLite build uses) at commit under
 * synchronous=FULL: the commit fails with TransientIO, later commits succeed, nothing acknowledged
 * is lost. A commit reported as failed may still be found afterwards (its frames reached the WAL
 * before the sync failed); the case notes it.
 */
export const faultsEioWalSync: ConformanceCase = {
  id: 'faults.eio-wal-sync',
  title: 'EIO on the -wal fsync/fdatasync (strace): TransientIO, not wedged, still WAL, nothing acknowledged lost',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const path = context.path('board.db')
    const seed = await seedBoard(context, path, 5)
    const plan = {
      file: `${path}-wal`,
      faults: [
        // Counted from the arm step (after two commits): the next commit's sync of the -wal fails.
        { syscall: 'fsync', error: 'EIO', when: '1..1' },
        { syscall: 'fdatasync', error: 'EIO', when: '1..1' },
      ],
    }
    const run = await runArmedPlan(context, path, plan, [{ op: 'open' }, ...inserts('s-before', 2), { op: 'arm' }, ...inserts('s', 10), { op: 'read-fresh' }])
    assertPlanFired(run)
    const { results } = run
    context.note(`${run.injected} calls made to fail`)
    await assertRecovered(context, path, results, { code: 'TRANSIENT_IO', sqliteCodePrefix: 'SQLITE_IOERR', seed })
  },
}

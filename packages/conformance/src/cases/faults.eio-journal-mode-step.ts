import { strict as assert } from 'node:assert'
import type { ConformanceCase } from '../case.js'
import { assertPlanFired, assertRecovered, requireStrace, runUnderPlan, seedBoard, summary, verdict } from './faults.plan.js'

/**
 * EIO on the first read of a WAL board's pages while opening (the journal-mode step; the 1st read
 * of the file is the 100-byte header that `sqlite3_open_v2` itself reads, so the plan fails the 2nd). The control is the
 * Python board's old open policy (fall back to `journal_mode=DELETE` on any "disk I/O error"): under
 * the same plan it downgrades the board (header bytes 18/19 become 1, seen by a fresh process).
 * kanban-db's open policy raises TransientIO (or looks again after the window and succeeds), the
 * next open succeeds, and the board stays WAL.
 */
export const faultsEioJournalModeStep: ConformanceCase = {
  id: 'faults.eio-journal-mode-step',
  title: 'EIO during the journal-mode step of open (strace): TransientIO and still WAL; the naive fallback policy (control) downgrades to DELETE',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const planFor = (path: string) => ({ file: path, faults: [{ syscall: 'pread64', error: 'EIO', when: '2..2' }] })

    // The control: the naive policy under the same plan must show the downgrade.
    const controlPath = context.path('control.db')
    await seedBoard(context, controlPath, 5)
    const controlRun = await runUnderPlan(context, controlPath, planFor(controlPath), [{ op: 'naive-open' }])
    const control = controlRun.results
    const controlBoard = await verdict(context, controlPath)
    context.note(`control: ${summary(control)} -> ${JSON.stringify(control[0]?.value)}; fresh process sees journal_mode=${controlBoard.journalMode}, header 18/19=${JSON.stringify(controlBoard.headerVersions)}`)
    const downgraded = controlBoard.journalMode === 'delete' && (controlBoard.headerVersions === null || controlBoard.headerVersions[0] === 1)
    if (!downgraded) {
      throw new Error(`control did not reproduce the hazard: the naive policy left journal_mode=${controlBoard.journalMode} (${summary(control)})`)
    }

    // The protection: the same plan against core's open policy.
    const path = context.path('board.db')
    const seed = await seedBoard(context, path, 5)
    const run = await runUnderPlan(context, path, planFor(path), [
      { op: 'open' },
      { op: 'open' },
      { op: 'insert', label: 'after' },
      { op: 'read-fresh' },
    ])
    // The open either raises TransientIO or looks again and succeeds; it never downgrades.
    assertPlanFired(run, { visible: false })
    const { results } = run
    assert.equal(results[1]?.ok, true, `the open after the fault window failed: ${results[1]?.message}`)
    context.note(`protected: ${run.injected} call(s) made to fail; first open ${results[0]?.ok ? 'looked again and succeeded' : `raised ${results[0]?.code}`}`)
    await assertRecovered(context, path, results, { code: 'TRANSIENT_IO', sqliteCodePrefix: 'SQLITE_IOERR', seed })
  },
}

import { strict as assert } from 'node:assert'
import { openBoard } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'
import { requireStrace, runTaskArmed } from './faults.plan.js'

interface WorkerOutcome {
  readonly acknowledged: string[]
  readonly failures: Array<{ code: string; sqliteCode?: string; hasCause: boolean; doing: string }>
  readonly reopens: number
}

/**
 * A board worker (openBoard, claimNext, complete) under EIO on its -wal writes: the board's write
 * path surfaces `TransientIO` with SQLite's code kept, a retry (or one reopen) goes on, every task
 * ends done exactly once, every acknowledged completion is on disk, integrity ok, still WAL.
 * The control: the plan must have made calls fail and a board operation must have seen it.
 */
export const faultsBoardWorkerEio: ConformanceCase = {
  id: 'faults.board-worker-eio',
  title: 'a board worker under EIO on -wal writes (strace): TransientIO from claim/complete, retried, every task done exactly once, nothing acknowledged lost',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const path = context.path('board.db')
    const board = await openBoard({ path, adapter: context.adapter })
    const ids = (await board.createTasks(Array.from({ length: 40 }, (_, index) => ({ title: `task ${index}` })))).map((task) => task.id)
    await board.close()

    // Armed once 5 tasks are done: the next 4 -wal writes fail (a burst inside the next claims and completions).
    const plan = { file: `${path}-wal`, faults: [{ syscall: 'pwrite64', error: 'EIO', when: '1..4' }] }
    const { value, injected } = await runTaskArmed<WorkerOutcome>(context, 'faults-board-worker', { path, armAfter: 5 }, plan)
    context.note(`${injected} calls made to fail; ${value.failures.length} board operations failed (${value.failures.map((failure) => `${failure.doing}:${failure.code}/${failure.sqliteCode}`).join(' ')}), ${value.reopens} reopen(s); ${value.acknowledged.length} completions acknowledged`)
    if (injected === 0 || value.failures.length === 0) {
      throw new Error(`control did not reproduce the hazard: ${injected} calls failed, ${value.failures.length} board operations saw it`)
    }
    for (const failure of value.failures) {
      assert.equal(failure.code, 'TRANSIENT_IO')
      assert.ok(failure.sqliteCode?.startsWith('SQLITE_IOERR'), `SQLite's code was not kept: ${failure.sqliteCode}`)
      assert.ok(failure.hasCause, 'the driver error was not kept as cause')
    }
    assert.equal(new Set(value.acknowledged).size, value.acknowledged.length, 'a task was completed twice')
    assert.deepEqual([...value.acknowledged].sort(), [...ids].sort(), 'not every task was completed')

    const check = await context.child<{ journalMode: string; integrity: string[]; labels: string[] }>('faults-verify', { path, table: 'tasks', column: 'status' })
    assert.equal(check.journalMode, 'wal')
    assert.deepEqual(check.integrity, ['ok'])
    assert.deepEqual(check.labels, ids.map(() => 'done'), 'a fresh process does not see every task done')
  },
}

import { strict as assert } from 'node:assert'
import { openBoard } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'
import { requireStrace, runTaskArmed } from './faults.plan.js'

interface DispatcherOutcome {
  readonly ticks: number
  readonly spawned: number
  readonly recorded: number
  readonly quarantined: number
  readonly errors: Array<{ phase: string; kind: string; code?: string; message: string }>
  readonly state?: string
}

/**
 * A dispatcher under EIO on its -wal writes: it reports transient errors and carries on, never
 * quarantines the board, and every task ends done exactly once with the file still WAL and intact.
 * The control: the plan must have made calls fail and the dispatcher must have reported it.
 */
export const faultsDispatcherEio: ConformanceCase = {
  id: 'faults.dispatcher-eio',
  title: 'a dispatcher under EIO on -wal writes (strace): transient errors reported and retried, the board never quarantined, every task done once, integrity ok',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 120_000,
  async run(context) {
    requireStrace()
    const path = context.path('board.db')
    const board = await openBoard({ path, adapter: context.adapter })
    const ids = (await board.createTasks(Array.from({ length: 30 }, (_, index) => ({ title: `task ${index}` })))).map((task) => task.id)
    await board.close()

    // Armed once 3 tasks are recorded: the next 8 -wal writes fail, inside the ticks that follow.
    const plan = { file: `${path}-wal`, faults: [{ syscall: 'pwrite64', error: 'EIO', when: '1..8' }] }
    const { value, injected } = await runTaskArmed<DispatcherOutcome>(context, 'faults-dispatcher', { path, tasks: ids.length, armAfter: 3 }, plan)
    context.note(
      `${injected} calls made to fail; ${value.ticks} ticks, ${value.spawned} spawned, ${value.recorded} recorded, ${value.quarantined} quarantined; ` +
        `errors: ${value.errors.map((error) => `${error.phase}:${error.kind}/${error.code}`).join(' ') || 'none'}`,
    )
    if (injected === 0 || value.errors.length === 0) {
      throw new Error(`control did not reproduce the hazard: ${injected} calls failed, the dispatcher reported ${value.errors.length} errors`)
    }
    assert.equal(value.quarantined, 0, 'the dispatcher quarantined a board that only met transient I/O errors')
    for (const error of value.errors) assert.notEqual(error.kind, 'corruption', `a transient fault was classified as corruption: ${error.message}`)
    assert.equal(value.recorded, ids.length, 'not every task was recorded done')

    const check = await context.child<{ journalMode: string; integrity: string[]; labels: string[] }>('faults-verify', { path, table: 'tasks', column: 'status' })
    assert.equal(check.journalMode, 'wal')
    assert.deepEqual(check.integrity, ['ok'])
    assert.deepEqual(check.labels, ids.map(() => 'done'), 'a fresh process does not see every task done')
  },
}

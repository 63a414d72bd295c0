import { strict as assert } from 'node:assert'
import { KanbanDbError, openBoard } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'
import { faultyAdapter, sqliteError } from '../fault-injection.js'

/**
 * SQLITE_BUSY at COMMIT (injected at the driver boundary: the COMMIT does not run) leaves the
 * transaction open in SQLite. The write path must not wedge: the caller learns the outcome
 * (either a named `Busy` with nothing written, or success with the write kept exactly once), no
 * transaction is left open, and the next transaction succeeds.
 */
export const busyAtCommitRecovers: ConformanceCase = {
  id: 'txn.busy-at-commit-recovers',
  title: 'after an injected SQLITE_BUSY at COMMIT the caller gets a clear outcome, no transaction is left open, and the next transaction succeeds',
  tier: 'txn',
  requires: [],
  timeoutMs: 60_000,
  async run(context) {
    const faulty = faultyAdapter(context.adapter)
    const board = await openBoard({ path: context.path('board.db'), adapter: faulty.adapter })
    try {
      faulty.armOnce(/^\s*COMMIT\s*$/i, () => sqliteError('SQLITE_BUSY', 5, 'database is locked'))
      const first = await board.createTask({ title: 'first', idempotencyKey: 'first' }).then(
        (task) => ({ ok: true as const, task }),
        (error: unknown) => ({ ok: false as const, error }),
      )
      assert.equal(faulty.fired, 1, 'the injected SQLITE_BUSY at COMMIT never fired: the case proved nothing')
      if (first.ok) {
        context.note('the write path retried the COMMIT and reported success')
      } else {
        assert.ok(KanbanDbError.isKanbanDbError(first.error), `the caller got an unnamed error: ${String(first.error)}`)
        assert.equal(first.error.code, 'BUSY', `the caller got ${first.error.code} instead of BUSY`)
        context.note(`the caller got ${first.error.name} (${first.error.code}): ${first.error.message}`)
      }
      const second = await board.createTask({ title: 'second' })
      const titles = (await board.listTasks()).map((task) => task.title)
      assert.deepEqual(titles, first.ok ? ['first', 'second'] : ['second'], 'the board does not hold exactly what the callers were told')
      assert.equal((await board.getTask(second.id))?.status, 'ready')
      const events = await board.events()
      assert.equal(events.filter((event) => event.kind === 'created').length, titles.length, 'the event log does not match the tasks')
    } finally {
      await board.close()
    }
    // A fresh connection sees exactly what the board reported, and no open transaction kept anything back.
    const connection = await context.adapter.open(context.path('board.db'))
    try {
      const rows = connection.prepare('select title from tasks order by created_at, id').all([])
      const integrity = connection.prepare('PRAGMA integrity_check').all([])
      assert.ok(rows.some((row) => row.title === 'second'), 'the write after the injected BUSY is not on disk')
      assert.deepEqual(integrity.map((row) => Object.values(row)[0]), ['ok'])
    } finally {
      connection.close()
    }
  },
}

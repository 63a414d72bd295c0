import { strict as assert } from 'node:assert'
import { openBoard } from '@kanban-db/core'
import { rollbackErrorOf } from '@kanban-db/core/internal'
import type { ConformanceCase } from '../case.js'
import { faultyAdapter, sqliteError } from '../fault-injection.js'

class CallbackFailure extends Error {}

/**
 * A write transaction whose callback throws must hand the caller THAT error even when ROLLBACK
 * itself fails (as it does when SQLite already rolled back after an I/O error): a caller that got
 * "cannot rollback" instead would retry or report the wrong thing. ROLLBACK is made to fail at the
 * driver boundary; the case then checks the caller got its own error object (rollback failure
 * attached), nothing of the transaction was kept, and the next write works.
 */
export const rollbackPreservesOriginalError: ConformanceCase = {
  id: 'txn.rollback-preserves-original-error',
  title: 'when ROLLBACK itself fails, writeTxn still rejects with the original error (rollback error attached); nothing is kept; the next write works',
  tier: 'txn',
  requires: [],
  timeoutMs: 30_000,
  async run(context) {
    const faulty = faultyAdapter(context.adapter)
    const board = await openBoard({ path: context.path('board.db'), adapter: faulty.adapter })
    try {
      const before = await board.createTask({ title: 'before' })
      const original = new CallbackFailure('the callback failed on purpose')
      let createdInside: string | undefined
      faulty.armOnce(/^\s*ROLLBACK\s*$/i, () => sqliteError('SQLITE_ERROR', 1, 'cannot rollback - no transaction is active'))
      const outcome = await board
        .writeTxn(async () => {
          createdInside = (await board.createTask({ title: 'inside the failed transaction' })).id
          throw original
        })
        .then(
          () => ({ rejected: false as const }),
          (error: unknown) => ({ rejected: true as const, error }),
        )
      assert.equal(faulty.fired, 1, 'the injected ROLLBACK failure never fired: the case proved nothing')
      assert.ok(outcome.rejected, 'writeTxn resolved although its callback threw')
      assert.equal(outcome.error, original, `the caller got ${String(outcome.error)} instead of the callback's own error`)
      const rollbackError = rollbackErrorOf(outcome.error)
      assert.ok(rollbackError !== undefined, 'the rollback failure was not attached as rollbackError')
      context.note(`rollbackError: ${rollbackError instanceof Error ? `${rollbackError.name}: ${rollbackError.message}` : String(rollbackError)}`)

      const after = await board.createTask({ title: 'after' })
      assert.ok(createdInside !== undefined)
      assert.equal(await board.getTask(createdInside), undefined, 'a task written inside the failed transaction was kept')
      const titles = (await board.listTasks()).map((task) => task.title)
      assert.deepEqual(titles, ['before', 'after'])
      assert.ok(await board.getTask(before.id))
      assert.ok(await board.getTask(after.id))
    } finally {
      await board.close()
    }
  },
}

import { strict as assert } from 'node:assert'
import { KanbanDbError, openBoard } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'

/**
 * A write transaction whose caller never finishes (a callback awaiting something that never comes)
 * must not hold the board's write lock forever: it is rolled back with a named
 * `TransactionTimeout`, what it wrote is gone, its late queries fail, the next write in this
 * process goes through, and (where the file is shared) another process can take the write lock.
 */
export const abandonedTransactionTimesOut: ConformanceCase = {
  id: 'txn.abandoned-transaction-times-out',
  title: 'an abandoned write transaction is rolled back with TransactionTimeout and releases the write lock',
  tier: 'txn',
  requires: [],
  timeoutMs: 60_000,
  async run(context) {
    const path = context.path('board.db')
    const board = await openBoard({ path, adapter: context.adapter, write: { transactionTimeoutMs: 1_000 } })
    let release!: () => void
    const never = new Promise<void>((resolve) => {
      release = resolve
    })
    let reportLate!: (outcome: string) => void
    const lateOutcome = new Promise<string>((resolve) => {
      reportLate = resolve
    })
    try {
      let abandonedId: string | undefined
      const abandoned = board.writeTxn(async (trx) => {
        try {
          abandonedId = (await board.createTask({ title: 'abandoned' })).id
          await never
          // The caller comes back long after it was timed out: this write must not land anywhere.
          await trx.updateTable('tasks').set({ title: 'late write' }).execute()
          reportLate('resolved')
        } catch (error) {
          reportLate(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
          throw error
        }
      })
      const error = await abandoned.then(
        () => undefined,
        (caught: unknown) => caught,
      )
      assert.ok(KanbanDbError.isKanbanDbError(error), `the abandoned transaction ended with ${String(error)}, not a named error`)
      assert.equal(error.code, 'TRANSACTION_TIMEOUT')
      context.note(`${error.name}: ${error.message}`)

      const next = await board.createTask({ title: 'next' })
      if (abandonedId !== undefined) assert.equal(await board.getTask(abandonedId), undefined, 'what the abandoned transaction wrote was kept')
      if (context.adapter.capabilities.sharedFile) {
        const other = await context.child<{ acquired: boolean; code?: string }>('try-write-lock', { path })
        assert.ok(other.acquired, `another process could not take the write lock after the timeout (${other.code})`)
      }
      release()
      const late = await lateOutcome
      context.note(`the late query through the timed-out trx: ${late}`)
      assert.notEqual(late, 'resolved', 'a query through the timed-out transaction still ran')
      const titles = (await board.listTasks()).map((task) => task.title)
      assert.deepEqual(titles, ['next'], 'the late write through the timed-out transaction changed the board')
      assert.ok(await board.getTask(next.id))
    } finally {
      release()
      await board.close()
    }
  },
}

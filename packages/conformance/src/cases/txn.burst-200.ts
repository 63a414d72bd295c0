import { strict as assert } from 'node:assert'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { openBoard } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'

const BURST = 200

/**
 * 200 async write transactions started at once on one board in one process. Each reads the task
 * count, yields to the event loop (inviting another caller in), creates a task, yields again,
 * and checks the count moved by exactly one: any interleaving shows as a wrong count or two
 * callbacks active together. Every call must settle successfully: no SQLITE_BUSY, no deadlock
 * (which would end in the case timeout), in FIFO order.
 */
export const burst200: ConformanceCase = {
  id: 'txn.burst-200',
  title: '200 concurrent async writeTxn on one board run one at a time, in order, without BUSY, deadlock or interleaving',
  tier: 'txn',
  requires: [],
  timeoutMs: 120_000,
  async run(context) {
    const board = await openBoard({ path: context.path('board.db'), adapter: context.adapter })
    try {
      let active = 0
      let maxActive = 0
      const order: number[] = []
      const started = performance.now()
      const outcomes = await Promise.allSettled(
        Array.from({ length: BURST }, (_, index) =>
          board.writeTxn(async (trx) => {
            active += 1
            maxActive = Math.max(maxActive, active)
            order.push(index)
            const count = async () =>
              Number((await trx.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
            const before = await count()
            await nextTurn()
            await board.createTask({ title: `burst-${index}` })
            await nextTurn()
            const after = await count()
            active -= 1
            return { before, after }
          }),
        ),
      )
      const elapsed = performance.now() - started
      const failures = outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' ? [`#${index}: ${String(outcome.reason)}`] : []))
      assert.deepEqual(failures, [], `${failures.length} of ${BURST} transactions failed`)
      assert.equal(maxActive, 1, `${maxActive} transaction callbacks ran at the same time`)
      const counts = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<{ before: number; after: number }>).value)
      const wrong = counts.filter(({ before, after }) => after !== before + 1)
      assert.deepEqual(wrong, [], 'another transaction wrote between a callback\'s reads')
      assert.deepEqual(order, [...order].sort((a, b) => a - b), 'transactions did not run in the order they were started')
      const tasks = await board.listTasks({ limit: 1_000 })
      assert.equal(tasks.length, BURST)
      assert.deepEqual(new Set(tasks.map((task) => task.title)).size, BURST)
      const created = (await board.events({ limit: 1_000 })).filter((event) => event.kind === 'created')
      assert.equal(created.length, BURST, 'the event log does not hold one created event per task')
      context.note(`${BURST} transactions in ${Math.round(elapsed)} ms (${Math.round((BURST / elapsed) * 1000)}/s)`)
    } finally {
      await board.close()
    }
  },
}

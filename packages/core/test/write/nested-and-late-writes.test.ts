import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openBoard, TransactionTimeout, type Board } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

/** A promise and the function that settles it, to order steps without sleeping. */
function gate(): { readonly wait: Promise<void>; readonly open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((resolve) => (open = resolve))
  return { wait, open }
}

async function titles(board: Board): Promise<string[]> {
  return (await board.listTasks()).map((task) => task.title).sort()
}

for (const { name, create } of bundledAdapters) {
  describe(`write path edges (${name})`, () => {
    it('a board write made after its writeTxn timed out is refused, so nothing of that callback is kept', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        const resume = gate()
        let late: Promise<unknown> | undefined
        const outcome = board.writeTxn(
          async () => {
            await board.createTask({ title: 'before the timeout' })
            await resume.wait
            late = board.createTask({ title: 'after the timeout' })
            await late.catch(() => undefined)
          },
          { timeoutMs: 50 },
        )
        await expect(outcome).rejects.toBeInstanceOf(TransactionTimeout)
        resume.open()
        await expect.poll(() => late !== undefined).toBe(true)
        await expect(late).rejects.toBeInstanceOf(TransactionTimeout)
        expect(await titles(board)).toEqual([])
      } finally {
        await board.close()
      }
    })

    it('nested writes started together run one by one; a failing one loses only its own writes', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        const results = await board.writeTxn(() =>
          Promise.allSettled([
            board.createTask({ title: 'a' }),
            board.writeTxn(async () => {
              await board.createTask({ title: 'b' })
              throw new Error('b fails after writing')
            }),
            board.createTask({ title: 'c' }),
          ]),
        )
        expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
        expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'b fails after writing' })
        expect(await titles(board)).toEqual(['a', 'c'])
      } finally {
        await board.close()
      }
    })

    it('close() lets writes queued before it finish, board calls inside them included', async () => {
      const path = join(tempDir(), 'board.db')
      const adapter = await create()
      const board = await openBoard({ path, adapter })
      const hold = gate()
      const first = board.writeTxn(async () => {
        await hold.wait
        return board.createTask({ title: 'queued first' })
      })
      const second = board.writeTxn(() => board.createTask({ title: 'queued second' }))
      const closing = board.close()
      hold.open()
      await expect(first).resolves.toMatchObject({ title: 'queued first' })
      await expect(second).resolves.toMatchObject({ title: 'queued second' })
      await closing
      if (path !== ':memory:') {
        const reopened = await openBoard({ path, adapter })
        expect(await titles(reopened)).toEqual(['queued first', 'queued second'])
        await reopened.close()
      }
    })

    it('a heartbeat takes the priority lane: it commits before writes queued ahead of it', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        await board.createTask({ title: 'work' })
        const claimed = (await board.claimNext({ workerId: 'w1', leaseMs: 60_000 }))!
        const hold = gate()
        const settled: string[] = []
        const blocker = board.writeTxn(() => hold.wait)
        const queued = Array.from({ length: 12 }, (_, i) =>
          // One transaction each, so the order of commits is the order they settle in.
          board.writeTxn(() => board.createTask({ title: `queued ${i}` }), { batch: false }).then(() => settled.push(`write ${i}`)),
        )
        const heartbeat = board.heartbeat(claimed.id, claimed.claimToken).then(() => settled.push('heartbeat'))
        hold.open()
        await Promise.all([blocker, heartbeat, ...queued])
        // Without the lane it would commit after all twelve.
        expect(settled.indexOf('heartbeat')).toBeLessThan(settled.indexOf('write 11'))
      } finally {
        await board.close()
      }
    })
  })
}

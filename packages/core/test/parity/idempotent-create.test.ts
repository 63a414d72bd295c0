import { describe, expect, it } from 'vitest'
import { boardSubjects, bundledAdapters } from '../adapters.js'
import { openTestBoard } from '../board/helpers.js'
import { controlDidNotReproduce, openSharedBoard, sharesFiles, startChildren } from './helpers.js'

const KEYS = Array.from({ length: 40 }, (_, index) => `job-${index}`)

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`idempotent create on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('a repeated key in one batch and across calls returns the one existing task, with one created event', async () => {
      const { board } = await openTestBoard(await create())
      const [first, again] = await board.createTasks([
        { title: 'a', idempotencyKey: 'k' },
        { title: 'b', idempotencyKey: 'k' },
      ])
      expect(again).toEqual(first)
      expect(await board.createTask({ title: 'c', idempotencyKey: 'k', priority: 9 })).toEqual(first)
      expect((await board.events()).filter((event) => event.kind === 'created')).toHaveLength(1)
    })

    it('the unique index refuses a second row with the key even when written past the board', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'a', idempotencyKey: 'k' })
      await expect(
        board.writeTxn((trx) =>
          trx.insertInto('tasks').values({ id: 'dup', title: 'dup', body: '', status: 'ready', priority: 0, meta: '{}', created_at: 0, updated_at: 0, attempts: 0, max_attempts: 3, idempotency_key: 'k' }).execute(),
        ),
      ).rejects.toThrow(/UNIQUE/i)
      expect(await board.listTasks()).toEqual([task])
    })
  })
}

for (const { name, create } of bundledAdapters.filter((adapter) => sharesFiles(adapter.name))) {
  describe(`idempotent create across processes on ${name}`, () => {
    it('control: concurrent creators in 4 processes without keys duplicate the jobs', async () => {
      const adapter = await create()
      const { board, path } = await openSharedBoard(adapter)
      const children = await startChildren(3, adapter, path)
      try {
        const titles = KEYS.slice(0, 10)
        // Without a key every process's create of the same job is a new task.
        for (const child of children) child.send({ type: 'create', keys: titles, withoutKeys: true })
        for (const title of titles) await board.createTask({ title })
        await Promise.all(children.map((child) => child.next('created')))
        const rows = await board.db.selectFrom('tasks').select('title').execute()
        if (rows.length <= titles.length) controlDidNotReproduce('creates without a key did not duplicate')
        expect(rows).toHaveLength(titles.length * 4)
      } finally {
        await Promise.all(children.map((child) => child.reap()))
        await board.close()
      }
    })

    it('4 processes creating the same 40 keys at once all get the same task per key; one row and one event each', async () => {
      const adapter = await create()
      const { board, path } = await openSharedBoard(adapter)
      const children = await startChildren(3, adapter, path)
      try {
        const orders = [KEYS, [...KEYS].reverse(), KEYS.filter((_, i) => i % 2 === 0).concat(KEYS.filter((_, i) => i % 2 === 1)), [...KEYS].sort()]
        children.forEach((child, index) => child.send({ type: 'create', keys: orders[index + 1] }))
        const own: Array<[string, string]> = []
        for (const key of orders[0]!) own.push([key, (await board.createTask({ title: key, idempotencyKey: key })).id])
        const fromChildren = await Promise.all(children.map(async (child) => (await child.next('created')).ids as Array<[string, string]>))
        const byKey = new Map<string, Set<string>>()
        for (const [key, id] of [...own, ...fromChildren.flat()]) byKey.set(key, (byKey.get(key) ?? new Set()).add(id))
        expect(byKey.size).toBe(KEYS.length)
        for (const [key, ids] of byKey) expect(ids.size, key).toBe(1)
        const rows = await board.db.selectFrom('tasks').select(['id', 'idempotency_key']).execute()
        expect(rows).toHaveLength(KEYS.length)
        const created = (await board.events({ limit: 10_000 })).filter((event) => event.kind === 'created')
        expect(created).toHaveLength(KEYS.length)
      } finally {
        await Promise.all(children.map((child) => child.reap()))
        await board.close()
      }
    })
  })
}

import { describe, expect, it } from 'vitest'
import { boardSubjects, bundledAdapters } from '../adapters.js'
import { expectRefused, openTestBoard } from '../board/helpers.js'
import { controlDidNotReproduce, openSharedBoard, sharesFiles, startChildren } from './helpers.js'

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`notification subscriptions on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('a subscriber resumes exactly after the last acknowledged event; an unacknowledged batch is delivered again after its lease', async () => {
      const { board, clock } = await openTestBoard(await create())
      // Event ids increase in commit order; on Postgres they are not consecutive (drawn again at COMMIT).
      const eventIds = async () => (await board.events()).map((event) => event.id)
      await board.createTask({ title: 'before' })
      const [before] = await eventIds()
      expect(await board.subscribe('mail')).toBe(0)
      expect(await board.subscribe('chat', { from: 'now' })).toBe(before)
      expect(await board.subscribe('mail', { from: 'now' })).toBe(0)
      await board.createTasks([{ title: 'a' }, { title: 'b' }])
      const [, a, b] = await eventIds()
      const batch = (await board.takeEvents('mail', { limit: 2, leaseMs: 1000 }))!
      expect(batch.events.map((event) => event.id)).toEqual([before, a])
      // While the lease runs, a second notifier of the same subscriber gets nothing.
      expect(await board.takeEvents('mail', { leaseMs: 1000 })).toBeUndefined()
      expect(await board.ackEvents('mail', batch.leaseToken)).toBe(a)
      const rest = (await board.takeEvents('mail', { leaseMs: 1000 }))!
      expect(rest.events.map((event) => event.id)).toEqual([b])
      // The notifier dies before acknowledging: after the lease the same events come again.
      clock.advance(1000)
      const again = (await board.takeEvents('mail', { leaseMs: 1000 }))!
      expect(again.events.map((event) => event.id)).toEqual([b])
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.ackEvents('mail', rest.leaseToken))
      expect(await board.ackEvents('mail', again.leaseToken)).toBe(b)
      expect(await board.takeEvents('mail', { leaseMs: 1000 })).toBeUndefined()
      expect((await board.takeEvents('chat', { leaseMs: 1000 }))!.events.map((event) => event.id)).toEqual([a, b])
      await expectRefused(board, 'INVALID_INPUT', () => board.takeEvents('nobody', { leaseMs: 1000 }))
    })

    it(engine === 'sqlite' ? 'takes a cursor inside a write (one writer at a time: event ids are final)' : 'refuses to take a cursor inside a write: event ids are final only at COMMIT', async () => {
      const { board } = await openTestBoard(await create())
      await board.subscribe('mail')
      const inside = board.writeTxn(async () => {
        await board.createTask({ title: 'a' })
        return board.takeEvents('mail', { leaseMs: 1000 })
      })
      if (engine === 'sqlite') {
        expect((await inside)!.events).toHaveLength(1)
      } else {
        await expect(inside).rejects.toMatchObject({ code: 'INVALID_INPUT' })
        await expect(board.writeTxn(() => board.subscribe('chat', { from: 'now' }))).rejects.toMatchObject({ code: 'INVALID_INPUT' })
        expect((await board.takeEvents('mail', { leaseMs: 1000 }))?.events).toBeUndefined()
      }
    })
  })
}

for (const { name, create } of bundledAdapters.filter((adapter) => sharesFiles(adapter.name))) {
  describe(`notification subscriptions across processes on ${name}`, () => {
    it('control: two notifiers reading the log from a cursor without a lease deliver events twice', async () => {
      const { board } = await openSharedBoard(await create())
      try {
        await board.createTasks(Array.from({ length: 10 }, (_, index) => ({ title: `t${index}` })))
        // Both read from the same cursor before either moves it: every event goes out twice.
        const [one, two] = [await board.events({ afterId: 0 }), await board.events({ afterId: 0 })]
        const delivered = [...one!, ...two!].map((event) => event.id)
        if (new Set(delivered).size === delivered.length) controlDidNotReproduce('no event was delivered twice')
        expect(delivered).toHaveLength(20)
      } finally {
        await board.close()
      }
    })

    it('two notifier processes on one subscription: every event delivered exactly once, in order, while a writer adds more', async () => {
      const adapter = await create()
      const { board, path } = await openSharedBoard(adapter)
      const children = await startChildren(2, adapter, path)
      try {
        await board.subscribe('notifier')
        await board.createTasks(Array.from({ length: 50 }, (_, index) => ({ title: `early ${index}` })))
        for (const child of children) child.send({ type: 'notify', subscriber: 'notifier', limit: 7 })
        for (let index = 0; index < 100; index++) await board.createTask({ title: `late ${index}` })
        // The notifiers run until the cursor reaches the last event the writer wrote.
        const finalEventId = (await board.events({ afterId: 0, limit: 10_000 })).at(-1)!.id
        for (const child of children) child.send({ type: 'final', finalEventId })
        const delivered = await Promise.all(children.map(async (child) => (await child.next('delivered')).ids as number[]))
        const all = delivered.flat().sort((a, b) => a - b)
        expect(all).toEqual(Array.from({ length: finalEventId }, (_, index) => index + 1))
        for (const ids of delivered) expect(ids).toEqual([...ids].sort((a, b) => a - b))
        if (process.env.KANBAN_DB_PRINT_SHARES) console.log(name, delivered.map((ids) => ids.length).join(' / '))
      } finally {
        await Promise.all(children.map((child) => child.reap()))
        await board.close()
      }
    })
  })
}

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`attachments, meta and tenants on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('keeps attachment metadata (never bytes) with an event; meta JSON round-trips; tenants filter lists and claims', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't', meta: { branch: 'feat/x', model: { name: 'm', temperature: 0.2 } }, tenant: 'acme' })
      await board.createTask({ title: 'other tenant', tenant: 'globex', priority: 9 })
      expect((await board.getTask(task.id))!.meta).toEqual({ branch: 'feat/x', model: { name: 'm', temperature: 0.2 } })
      const attachment = await board.addAttachment(task.id, { name: 'log.txt', uri: 's3://bucket/log.txt', mediaType: 'text/plain', sizeBytes: 12, sha256: 'a'.repeat(64), createdBy: 'w' })
      expect(attachment).toMatchObject({ taskId: task.id, name: 'log.txt', uri: 's3://bucket/log.txt', sizeBytes: 12 })
      expect(await board.attachments(task.id)).toEqual([attachment])
      expect((await board.events({ taskId: task.id })).at(-1)).toMatchObject({ kind: 'attachment-added', payload: { attachmentId: attachment.id, name: 'log.txt' } })
      await expectRefused(board, 'INVALID_INPUT', () => board.addAttachment(task.id, { name: 'x', uri: 'y', sha256: 'XYZ' }))
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.addAttachment('t_nope', { name: 'x', uri: 'y' }))
      expect((await board.listTasks({ tenant: 'acme' })).map((listed) => listed.id)).toEqual([task.id])
      const claimed = (await board.claimNext({ workerId: 'w', leaseMs: 1000, tenant: 'acme' }))!
      expect(claimed.id).toBe(task.id)
      expect(await board.claimNext({ workerId: 'w', leaseMs: 1000, tenant: 'acme' })).toBeUndefined()
    })
  })
}

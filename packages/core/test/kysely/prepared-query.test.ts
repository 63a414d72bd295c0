import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Kysely, type KyselyPlugin, type PluginTransformQueryArgs, type RootOperationNode } from 'kysely'
import { openBoard, TransactionTimeout } from '@kanban-db/core'
import { type BoardSchema } from '@kanban-db/core/adapter'
import { PreparedQuery } from '../../src/kysely/prepared-query.js'
import { completeIn } from '../../src/board/claims.js'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

for (const { name, create } of bundledAdapters) {
  describe(`PreparedQuery (${name})`, () => {
    it('is built and compiled once, then runs with each call\'s values', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        const a = await board.createTask({ title: 'a' })
        const b = await board.createTask({ title: 'b' })
        let builds = 0
        const titleOf = new PreparedQuery<BoardSchema, { id: string }, { title: string }>((db, params) => {
          builds++
          return db.selectFrom('tasks').select('title').where('id', '=', params.id)
        })
        expect((await titleOf.execute(board.db, { id: a.id })).rows).toEqual([{ title: 'a' }])
        expect((await titleOf.execute(board.db, { id: b.id })).rows).toEqual([{ title: 'b' }])
        await board.writeTxn(async (trx) => expect((await titleOf.execute(trx, { id: b.id })).rows).toEqual([{ title: 'b' }]))
        expect(builds).toBe(1)
      } finally {
        await board.close()
      }
    })

    it('is refused through a transaction that is over, like any query of it, and writes nothing', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        const task = await board.createTask({ title: 'before' })
        const retitle = new PreparedQuery<BoardSchema, { id: string; title: string }>((db, params) =>
          db.updateTable('tasks').set({ title: params.title }).where('id', '=', params.id),
        )
        let leaked: Kysely<BoardSchema> | undefined
        await board.writeTxn(async (trx) => {
          leaked = trx
          await retitle.execute(trx, { id: task.id, title: 'inside' })
        })
        await expect(retitle.execute(leaked!, { id: task.id, title: 'after' })).rejects.toBeInstanceOf(TransactionTimeout)
        expect((await board.getTask(task.id))?.title).toBe('inside')
      } finally {
        await board.close()
      }
    })

    it('is refused in a callback that timed out: a late completion through its trx (a prepared UPDATE first) writes nothing', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        const task = await board.createTask({ title: 'held' })
        const claim = (await board.claimNext({ workerId: 'w', leaseMs: 60_000 }))!
        let resume!: () => void
        const resumed = new Promise<void>((resolve) => (resume = resolve))
        let late: Promise<unknown> | undefined
        const outcome = board.writeTxn(
          async (trx) => {
            await resumed
            late = completeIn(trx, task.id, claim.claimToken, null, Date.now())
            await late.catch(() => undefined)
          },
          { timeoutMs: 50 },
        )
        await expect(outcome).rejects.toBeInstanceOf(TransactionTimeout)
        resume()
        await expect.poll(() => late !== undefined).toBe(true)
        await expect(late).rejects.toBeInstanceOf(TransactionTimeout)
        expect((await board.getTask(task.id))?.status).toBe('running')
        expect((await board.events({ taskId: task.id })).map((event) => event.kind)).toEqual(['created', 'claimed'])
        await expect(board.complete(task.id, claim.claimToken)).resolves.toMatchObject({ status: 'done' })
      } finally {
        await board.close()
      }
    })

    it('reports a plugin that rewrites queries, and a value left out', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        const byId = new PreparedQuery<BoardSchema, { id: string }>((db, params) => db.selectFrom('tasks').select('id').where('id', '=', params.id))
        await expect(byId.execute(board.db, {} as { id: string })).rejects.toThrow(/without a value for id/)
        const rewriting: KyselyPlugin = {
          transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => ({ ...args.node }),
          transformResult: async (args) => args.result,
        }
        await expect(byId.execute(board.db.withPlugin(rewriting), { id: 'x' })).rejects.toThrow(/rewrites queries/)
      } finally {
        await board.close()
      }
    })

    it('keeps no plugin\'s rewrite in its compiled query: a call through a rewriting plugin first changes nothing for later calls', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      try {
        const a = await board.createTask({ title: 'a' })
        await board.createTask({ title: 'b' })
        const byId = new PreparedQuery<BoardSchema, { id: string }>((db, params) => db.selectFrom('tasks').select('id').where('id', '=', params.id))
        const dropWhere: KyselyPlugin = {
          transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => ({ ...args.node, where: undefined }) as RootOperationNode,
          transformResult: async (args) => args.result,
        }
        await expect(byId.execute(board.db.withPlugin(dropWhere), { id: a.id })).rejects.toThrow(/rewrites queries/)
        expect((await byId.execute(board.db, { id: a.id })).rows).toEqual([{ id: a.id }])
      } finally {
        await board.close()
      }
    })
  })
}

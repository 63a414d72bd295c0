import { sql } from 'kysely'
import { expect, it } from 'vitest'
import { postgres } from '../src/index.js'
import { describeServer, eventRow, freshSchema, serverUrl, signal, taskRow, track } from './server.js'

async function openEngine() {
  return track(await postgres({ connectionString: serverUrl(), schema: freshSchema() }).open({ readonly: false }))
}

describeServer('postgres engine: nested writes, currentTransaction, clock and numbers', () => {
  it('joins a write made inside a running callback as a savepoint: its failure rolls back only its own work', async () => {
    const engine = await openEngine()
    await engine.writeTxn(async (trx) => {
      expect(engine.currentTransaction()).toBe(trx)
      await trx.insertInto('tasks').values(taskRow('outer')).execute()
      const failed = await engine
        .writeTxn(async (inner) => {
          expect(inner).toBe(trx)
          await inner.insertInto('tasks').values(taskRow('rolled-back')).execute()
          // A duplicate key aborts the savepoint's work, not the outer transaction.
          await inner.insertInto('tasks').values(taskRow('outer')).execute()
        })
        .catch((error: unknown) => error)
      expect(failed).toMatchObject({ code: 'POSTGRES_FAILURE', sqlState: '23505' })
      await engine.writeTxn((inner) => inner.insertInto('tasks').values(taskRow('kept')).execute())
    })
    expect(engine.currentTransaction()).toBeUndefined()
    expect(await engine.db.selectFrom('tasks').select('id').orderBy('id').execute()).toEqual([{ id: 'kept' }, { id: 'outer' }])
  })

  it('runs nested writes started together one after another', async () => {
    const engine = await openEngine()
    await engine.writeTxn(async () => {
      await Promise.all(['a', 'b', 'c'].map((id) => engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow(id)).execute())))
    })
    expect(await engine.db.selectFrom('tasks').select('id').orderBy('id').execute()).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }])
  })

  it('refuses a write made through a timed-out callback instead of committing it on its own', async () => {
    const engine = await openEngine()
    const resume = signal()
    const late = signal<unknown>()
    await expect(
      engine.writeTxn(async () => {
        await resume.promise
        late.resolve(await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('late')).execute()).catch((error: unknown) => error))
      }, { timeoutMs: 50 }),
    ).rejects.toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
    resume.resolve()
    expect(await late.promise).toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
    expect(await engine.db.selectFrom('tasks').select('id').execute()).toEqual([])
  })

  it("reads the server's clock as a whole number of ms, inside and outside writes, and bigints as numbers", async () => {
    const engine = await openEngine()
    const outside = await engine.now(engine.db)
    expect(Number.isSafeInteger(outside)).toBe(true)
    const inside = await engine.writeTxn(async (trx) => {
      const now = await engine.now(trx)
      await trx.insertInto('tasks').values(taskRow('t', 'ready', now)).execute()
      await trx.insertInto('events').values(eventRow('t', 'created', now)).execute()
      return now
    })
    // clock_timestamp() never goes back between two reads of one server.
    expect(inside).toBeGreaterThanOrEqual(outside)
    const event = await engine.db.selectFrom('events').selectAll().executeTakeFirstOrThrow()
    expect(typeof event.id).toBe('number')
    expect(event.created_at).toBe(inside)
    const { rows } = await sql<{ n: number; total: number }>`SELECT count(*) AS n, sum(created_at) AS total FROM events`.execute(engine.db)
    expect(rows[0]).toEqual({ n: 1, total: inside })
  })

  it('validates writeTxn arguments with InvalidInput', async () => {
    const engine = await openEngine()
    await expect(engine.writeTxn(undefined as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(engine.writeTxn(() => 1, { timeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(engine.writeTxn(() => 1, { priority: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    // `batch` is accepted and means nothing here (no group commit on a server).
    expect(await engine.writeTxn(() => 1, { batch: false })).toBe(1)
  })
})

import { sql } from 'kysely'
import { expect, it } from 'vitest'
import { postgres } from '../src/index.js'
import { describeServer, eventRow, freshSchema, rawClient, serverUrl, signal, taskRow, track } from './server.js'

async function openEngine(poolSize = 10, schema = freshSchema()) {
  return track(await postgres({ connectionString: serverUrl(), schema, poolSize }).open({ readonly: false }))
}

describeServer('postgres engine: concurrent writes', () => {
  it('runs 20 writes of one process at once through the pool, and commits them all', async () => {
    const engine = await openEngine(10)
    // Each callback waits until 5 are open at the same time: this can only finish if the engine
    // runs transactions concurrently (a queue would hold the second behind the first forever).
    let open = 0
    let mostOpen = 0
    const fiveOpen = signal()
    const writes = Array.from({ length: 20 }, (_, index) =>
      engine.writeTxn(async (trx) => {
        open++
        mostOpen = Math.max(mostOpen, open)
        if (open >= 5) fiveOpen.resolve()
        await fiveOpen.promise
        await trx.insertInto('tasks').values(taskRow(`t${index}`)).execute()
        // The event insert comes last: the events trigger serialises transactions from here to COMMIT.
        await trx.insertInto('events').values(eventRow(`t${index}`)).execute()
        open--
        return index
      }),
    )
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 20 }, (_, index) => index))
    expect(mostOpen).toBeGreaterThanOrEqual(5)
    const { rows } = await sql<{ tasks: number; events: number }>`SELECT (SELECT count(*) FROM tasks) AS tasks, (SELECT count(*) FROM events) AS events`.execute(engine.db)
    expect(rows[0]).toEqual({ tasks: 20, events: 20 })
  })

  it('retries a deadlock (two writes locking two rows in opposite order) and never surfaces it', async () => {
    const engine = await openEngine()
    await engine.writeTxn((trx) => trx.insertInto('tasks').values([taskRow('x'), taskRow('y')]).execute())
    const calls = { a: 0, b: 0 }
    const aHoldsX = signal()
    const bHoldsY = signal()
    const bump = (trx: Parameters<Parameters<typeof engine.writeTxn>[0]>[0], id: string) =>
      trx.updateTable('tasks').set({ priority: sql`priority + 1` }).where('id', '=', id).execute()
    const a = engine.writeTxn(async (trx) => {
      calls.a++
      await bump(trx, 'x')
      aHoldsX.resolve()
      await bHoldsY.promise
      await bump(trx, 'y')
    })
    const b = engine.writeTxn(async (trx) => {
      calls.b++
      await bump(trx, 'y')
      bHoldsY.resolve()
      await aHoldsX.promise
      await bump(trx, 'x')
    })
    // Postgres's deadlock detector aborts one of them (40P01); the write path runs it again.
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined])
    expect(calls.a + calls.b).toBe(3)
    const rows = await engine.db.selectFrom('tasks').select(['id', 'priority']).orderBy('id').execute()
    expect(rows).toEqual([{ id: 'x', priority: 2 }, { id: 'y', priority: 2 }])
  })

  it('retries a duplicate idempotency key, so the second of two racing creates finds the first task', async () => {
    const engine = await openEngine()
    const lookedUp = [signal(), signal()]
    let calls = 0
    // The board's create: look the key up, insert if absent. Both look up before either inserts.
    const create = (id: string, me: number) =>
      engine.writeTxn(async (trx) => {
        calls++
        const existing = await trx.selectFrom('tasks').select('id').where('idempotency_key', '=', 'k1').executeTakeFirst()
        lookedUp[me]!.resolve()
        await Promise.all(lookedUp.map((s) => s.promise))
        if (existing) return existing.id
        await trx.insertInto('tasks').values(taskRow(id, 'ready', Date.now(), { idempotency_key: 'k1' })).execute()
        return id
      })
    const [first, second] = await Promise.all([create('a', 0), create('b', 1)])
    // One inserted; the other's insert waited for it, hit the unique key, ran again and found it.
    expect(first).toBe(second)
    expect(calls).toBe(3)
    expect(await engine.db.selectFrom('tasks').select('id').execute()).toEqual([{ id: first }])
  })

  it('runs priority writes on reserved connections while every main connection is taken', async () => {
    const schema = freshSchema()
    const engine = await openEngine(2, schema)
    const release = signal()
    const bothHeld = [signal(), signal()]
    const holders = bothHeld.map((held) =>
      engine.writeTxn(async () => {
        held.resolve()
        await release.promise
      }),
    )
    await Promise.all(bothHeld.map((held) => held.promise))
    // Both main connections sit in open transactions; a normal write would queue for them.
    const queued = engine.writeTxn(async (trx) => trx.insertInto('tasks').values(taskRow('normal')).execute())
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('heartbeat')).execute(), { priority: true })
    expect(await engine.health()).toMatchObject({ pool: { total: 2, idle: 0, waiting: 1 } })
    // Read from outside: engine.db would wait for a main connection too.
    const outside = await rawClient(schema)
    expect((await outside.query('SELECT id FROM tasks')).rows).toEqual([{ id: 'heartbeat' }])
    release.resolve()
    await Promise.all([...holders, queued])
    expect(await engine.db.selectFrom('tasks').select('id').orderBy('id').execute()).toEqual([{ id: 'heartbeat' }, { id: 'normal' }])
  })
})

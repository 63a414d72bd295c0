import { sql } from 'kysely'
import { expect, it } from 'vitest'
import { postgres } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, signal, taskRow, track, until } from './server.js'

async function openEngine(schema = freshSchema(), readonly = false) {
  return track(await postgres({ connectionString: serverUrl(), schema }).open({ readonly }))
}

describeServer('postgres engine: failing writes', () => {
  it('reports ConnectionLost when the backend is terminated mid-transaction, keeps nothing of it, and the next write works', async () => {
    const engine = await openEngine()
    const pid = signal<number>()
    const killed = signal()
    let calls = 0
    const doomed = engine.writeTxn(async (trx) => {
      calls++
      await trx.insertInto('tasks').values(taskRow('doomed')).execute()
      const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)
      pid.resolve(rows[0]!.pid)
      await killed.promise
      await trx.selectFrom('tasks').selectAll().execute()
    })
    const admin = await rawClient()
    // The two-argument form waits (up to 10 s) until the backend has exited.
    expect((await admin.query('SELECT pg_terminate_backend($1, 10000) AS done', [await pid.promise])).rows[0].done).toBe(true)
    killed.resolve()
    await expect(doomed).rejects.toMatchObject({ code: 'CONNECTION_LOST' })
    expect(calls).toBe(1)
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('after')).execute())
    expect(await engine.db.selectFrom('tasks').select('id').execute()).toEqual([{ id: 'after' }])
  })

  it('recovers when every connection of the engine dies at once (as in a server restart): the next write works', async () => {
    const schema = freshSchema()
    const app = `kt-${schema}`
    const engine = track(
      await postgres({ connectionString: serverUrl(), schema, poolSize: 4, pool: { application_name: app } }).open({ readonly: false }),
    )
    // Four writes open at once, so four connections wait idle in the pool afterwards.
    const allOpen = signal()
    let open = 0
    await Promise.all(
      Array.from({ length: 4 }, (_, index) =>
        engine.writeTxn(async (trx) => {
          if (++open === 4) allOpen.resolve()
          await allOpen.promise
          await trx.insertInto('tasks').values(taskRow(`t${index}`)).execute()
        }),
      ),
    )
    const admin = await rawClient()
    const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [app])
    expect(rows.length).toBe(4)
    for (const { pid } of rows) await admin.query('SELECT pg_terminate_backend($1, 10000)', [pid])
    // Idle connections the pool may not have noticed dead yet fail at BEGIN, before anything of the write was sent.
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('after')).execute())
    const check = await rawClient(schema)
    expect((await check.query('SELECT count(*)::int AS n FROM tasks')).rows[0].n).toBe(5)
  })

  it('rejects a callback past its timeout at once, refuses its later queries and keeps none of its work', async () => {
    const engine = await openEngine()
    const resume = signal()
    const lateQuery = signal<unknown>()
    const write = engine.writeTxn(async (trx) => {
      await trx.insertInto('tasks').values(taskRow('slow')).execute()
      await resume.promise
      await trx.insertInto('tasks').values(taskRow('late')).execute().then(
        () => lateQuery.resolve('ran'),
        (error: unknown) => lateQuery.resolve(error),
      )
    }, { timeoutMs: 100 })
    await expect(write).rejects.toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
    resume.resolve()
    expect(await lateQuery.promise).toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('next')).execute())
    expect(await engine.db.selectFrom('tasks').select('id').execute()).toEqual([{ id: 'next' }])
  })

  it('cancels the statement a timed-out callback waits in, so its rollback and close() do not wait for the lock', async () => {
    const schema = freshSchema()
    const engine = await openEngine(schema)
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('x')).execute())
    const holder = await rawClient(schema)
    await holder.query('BEGIN')
    await holder.query(`SELECT id FROM tasks WHERE id = 'x' FOR UPDATE`)
    const write = engine.writeTxn((trx) => trx.updateTable('tasks').set({ priority: 5 }).where('id', '=', 'x').execute(), { timeoutMs: 100 })
    await expect(write).rejects.toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
    // close() waits for the rollback; without the cancel it would wait for `holder`, which never lets go.
    await engine.close()
    await holder.query('ROLLBACK')
    expect((await holder.query(`SELECT priority FROM tasks WHERE id = 'x'`)).rows).toEqual([{ priority: 0 }])
  })

  it('refuses writes on a read-only engine with ReadOnlyBoard, also raw ones through db', async () => {
    const schema = freshSchema()
    await openEngine(schema)
    const reader = await openEngine(schema, true)
    expect(reader.readonly).toBe(true)
    await expect(reader.writeTxn(() => undefined)).rejects.toMatchObject({ code: 'READ_ONLY_BOARD' })
    const raw = await reader.db.insertInto('tasks').values(taskRow('sneaky')).execute().catch((error: unknown) => error)
    expect(reader.classify(raw, 'inserting')).toMatchObject({ code: 'READ_ONLY_BOARD', sqlState: '25006' })
    expect(await reader.db.selectFrom('tasks').select('id').execute()).toEqual([])
  })

  it('close() waits for running writes, refuses new ones with BoardClosed, ends every connection, and twice is a no-op', async () => {
    const schema = freshSchema()
    const app = `kt-${schema}`
    const engine = track(await postgres({ connectionString: serverUrl(), schema, pool: { application_name: app } }).open({ readonly: false }))
    engine.onWake(() => {})
    await engine.writeTxn(() => undefined, { priority: true })
    const entered = signal()
    const finish = signal()
    const order: string[] = []
    const running = engine.writeTxn(async (trx) => {
      entered.resolve()
      await finish.promise
      await trx.insertInto('tasks').values(taskRow('last')).execute()
    }).then(() => order.push('write committed'))
    await entered.promise
    const closing = engine.close().then(() => order.push('closed'))
    await expect(engine.writeTxn(() => undefined)).rejects.toMatchObject({ code: 'BOARD_CLOSED' })
    finish.resolve()
    await Promise.all([running, closing])
    expect(order).toEqual(['write committed', 'closed'])
    await engine.close()
    const check = await rawClient(schema)
    expect((await check.query('SELECT id FROM tasks')).rows).toEqual([{ id: 'last' }])
    // Main pool, reserved pool and LISTEN connection are all gone.
    await until(async () => (await check.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app])).rows[0].n === 0)
  })

  it('passes a bug in a callback through unchanged and rolls its work back', async () => {
    const engine = await openEngine()
    const bug = new TypeError('undefined is not a function')
    await expect(
      engine.writeTxn(async (trx) => {
        await trx.insertInto('tasks').values(taskRow('half')).execute()
        throw bug
      }),
    ).rejects.toBe(bug)
    expect(await engine.db.selectFrom('tasks').select('id').execute()).toEqual([])
  })

  it('reports a constraint violation the callback swallowed (COMMIT answered ROLLBACK) as a failure, not a commit', async () => {
    const engine = await openEngine()
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('a')).execute())
    const write = engine.writeTxn(async (trx) => {
      await trx.insertInto('tasks').values(taskRow('a')).execute().catch(() => {})
    })
    await expect(write).rejects.toMatchObject({ code: 'POSTGRES_FAILURE', sqlState: '23505' })
  })
})

import { expect, it } from 'vitest'
import { postgres } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, track } from './server.js'

const openEngine = async (schema: string) => track(await postgres({ connectionString: serverUrl(), schema, poolSize: 2 }).open({ readonly: false }))

describeServer('postgres engine: named locks', () => {
  it('lets one holder at a time take a named lock, across engines, until it is released', async () => {
    const schema = freshSchema()
    const [a, b] = [await openEngine(schema), await openEngine(schema)]
    const held = await a.tryLock('dispatcher')
    expect(held).toBeDefined()
    expect(await b.tryLock('dispatcher')).toBeUndefined()
    expect(await a.tryLock('dispatcher')).toBeUndefined()
    // Other names, and the same name on another board (schema), are other locks.
    const other = await b.tryLock('reaper')
    expect(other).toBeDefined()
    const elsewhere = await openEngine(freshSchema())
    expect(await elsewhere.tryLock('dispatcher')).toBeDefined()
    await held!.release()
    await held!.release()
    const taken = await b.tryLock('dispatcher')
    expect(taken).toBeDefined()
    await taken!.release()
    await other!.release()
  })

  it("frees the lock when the holder's session dies (pg_terminate_backend), with no cleanup by anyone", async () => {
    const schema = freshSchema()
    const [holder, waiter] = [await openEngine(schema), await openEngine(schema)]
    const held = await holder.tryLock('dispatcher')
    expect(await waiter.tryLock('dispatcher')).toBeUndefined()
    const admin = await rawClient()
    const { rows } = await admin.query(
      `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
         AND classid = hashtext($1)::oid AND objid = hashtext('dispatcher')::oid`,
      [schema],
    )
    expect(rows).toHaveLength(1)
    expect((await admin.query('SELECT pg_terminate_backend($1, 10000) AS done', [rows[0].pid])).rows[0].done).toBe(true)
    const taken = await waiter.tryLock('dispatcher')
    expect(taken).toBeDefined()
    // The dead holder's release is a no-op, and its engine works on.
    await held!.release()
    expect(await holder.tryLock('dispatcher')).toBeUndefined()
    await taken!.release()
    expect(await holder.tryLock('dispatcher')).toBeDefined()
  })

  it('releases held locks at close, and refuses new ones after', async () => {
    const schema = freshSchema()
    const [a, b] = [await openEngine(schema), await openEngine(schema)]
    await a.tryLock('dispatcher')
    await a.close()
    await expect(a.tryLock('dispatcher')).rejects.toMatchObject({ code: 'BOARD_CLOSED' })
    expect(await b.tryLock('dispatcher')).toBeDefined()
    await expect(b.tryLock('')).rejects.toMatchObject({ code: 'INVALID_INPUT' })
  })
})

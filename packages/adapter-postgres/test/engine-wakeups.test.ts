import { expect, it } from 'vitest'
import { postgres, wakeChannel } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, taskRow, track, until } from './server.js'

/** Counts wake-ups; `reached(n)` resolves once there have been at least n. */
function wakeCounter() {
  let count = 0
  const waiting: Array<{ n: number; resolve: () => void }> = []
  return {
    listener: () => {
      count++
      for (const waiter of waiting.filter((w) => count >= w.n)) {
        waiting.splice(waiting.indexOf(waiter), 1)
        waiter.resolve()
      }
    },
    get count() {
      return count
    },
    reached: (n: number) => (count >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve }))),
  }
}

const openEngine = async (schema: string) => track(await postgres({ connectionString: serverUrl(), schema, poolSize: 2 }).open({ readonly: false }))
const insertTask = (status: string, id: string) =>
  `INSERT INTO tasks (id, title, status, created_at, updated_at) VALUES ('${id}', '${id}', '${status}', 0, 0)`

describeServer('postgres engine: cross-process wake-ups', () => {
  it('hears a task made ready by another connection (created ready, or moved to ready)', { timeout: 60_000 }, async () => {
    const schema = freshSchema()
    const engine = await openEngine(schema)
    expect(engine.capabilities.crossProcessWakeups).toBe(true)
    const wakes = wakeCounter()
    engine.onWake(wakes.listener)
    // The first wake-up says the LISTEN is in effect (a ready task may have been missed before it).
    await wakes.reached(1)
    expect(await engine.health()).toMatchObject({ listening: true })
    const other = await rawClient(schema)
    await other.query(insertTask('ready', 'a'))
    await wakes.reached(2)
    await other.query(insertTask('blocked', 'b'))
    await other.query(`UPDATE tasks SET status = 'ready' WHERE id = 'b'`)
    await wakes.reached(3)
  })

  it('hears a write of another engine (as another process would), and its own', { timeout: 60_000 }, async () => {
    const schema = freshSchema()
    const [listening, writing] = [await openEngine(schema), await openEngine(schema)]
    const wakes = wakeCounter()
    listening.onWake(wakes.listener)
    await wakes.reached(1)
    await writing.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('from-other')).execute())
    await wakes.reached(2)
    await listening.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('own')).execute())
    await wakes.reached(3)
  })

  it('LISTENs again after its connection is terminated, and keeps hearing', { timeout: 60_000 }, async () => {
    const schema = freshSchema()
    const engine = await openEngine(schema)
    const wakes = wakeCounter()
    engine.onWake(wakes.listener)
    await wakes.reached(1)
    const admin = await rawClient(schema)
    const { rows } = await admin.query(`SELECT pid FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${wakeChannel(schema)}"`])
    expect(rows).toHaveLength(1)
    await admin.query('SELECT pg_terminate_backend($1, 10000)', [rows[0].pid])
    // Reconnected and listening again: that announces itself with a wake-up.
    await wakes.reached(2)
    await admin.query(insertTask('ready', 'after-reconnect'))
    await wakes.reached(3)
  })

  it('stops listening at close and calls no listener after', { timeout: 60_000 }, async () => {
    const schema = freshSchema()
    const engine = await openEngine(schema)
    const wakes = wakeCounter()
    const unsubscribe = engine.onWake(wakes.listener)
    await wakes.reached(1)
    unsubscribe()
    unsubscribe()
    await engine.close()
    const admin = await rawClient(schema)
    await until(async () => (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${wakeChannel(schema)}"`])).rows[0].n === 0)
    expect(wakes.count).toBe(1)
  })
})

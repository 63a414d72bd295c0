import { expect, it } from 'vitest'
import { openBoard, type Board } from '@kanban-db/core'
import { postgres } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, signal, until } from './server.js'

const worker = (workerId: string) => ({ workerId, leaseMs: 60_000 })

/** Two boards on one schema, in separate pools whose backends say `<schema>-one` / `<schema>-two`. */
async function openTwo(schema: string): Promise<[Board, Board]> {
  const open = (name: string) =>
    openBoard({ engine: postgres({ connectionString: serverUrl(), schema, poolSize: 2, pool: { application_name: `${schema}-${name}` } }) })
  return [await open('one'), await open('two')]
}

/** What the backends of `application` wait for right now (`pg_stat_activity.wait_event` of lock waits). */
async function lockWaits(application: string): Promise<string[]> {
  const admin = await rawClient()
  const { rows } = await admin.query("SELECT wait_event FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [application])
  return rows.map((row) => String(row.wait_event))
}

/** True once the backend `pid` waits for a lock held by another transaction. */
async function waitsForLock(pid: number): Promise<boolean> {
  const admin = await rawClient()
  const { rows } = await admin.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [pid])
  return rows[0]?.wait_event_type === 'Lock'
}

describeServer('postgres board: claims skip the rows other claimers hold', () => {
  it('control: a claim without SKIP LOCKED waits for a concurrent claimer, then finds "nothing ready" while 9 tasks are ready', async () => {
    const schema = freshSchema()
    const [board] = await openTwo(schema)
    try {
      for (let i = 0; i < 10; i++) await board.createTask({ title: `t${i}` })
      // The board's claim, as it would be without FOR UPDATE SKIP LOCKED in its subquery.
      const claim = `UPDATE tasks SET status = 'running', claim_token = $1 WHERE id = (
          SELECT id FROM tasks WHERE status = 'ready' ORDER BY priority DESC, created_at ASC, id ASC LIMIT 1
        ) AND status = 'ready' RETURNING id`
      const [first, second] = [await rawClient(schema), await rawClient(schema)]
      await first.query('BEGIN')
      expect((await first.query(claim, ['a'])).rows).toHaveLength(1)
      const secondPid = (await second.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number
      const secondClaim = second.query(claim, ['b'])
      await until(() => waitsForLock(secondPid))
      await first.query('COMMIT')
      const { rows } = await secondClaim
      const ready = Number((await first.query("SELECT count(*) AS n FROM tasks WHERE status = 'ready'")).rows[0].n)
      if (!(rows.length === 0 && ready === 9)) throw new Error('control did not reproduce the hazard: the second claimer got a task')
    } finally {
      await board.close()
    }
  })

  it('a claimer passes over the task another claimer holds in an open transaction and takes the next at once', async () => {
    const schema = freshSchema()
    const [one, two] = await openTwo(schema)
    try {
      for (let i = 0; i < 10; i++) await one.createTask({ title: `t${i}`, priority: 10 - i })
      const held = signal<string>()
      const finish = signal()
      // Claimer one claims inside a transaction it keeps open: its row stays locked.
      const first = one.writeTxn(async () => {
        const task = (await one.claimNext(worker('one')))!
        held.resolve(task.id)
        await finish.promise
        return task
      })
      const heldId = await held.promise
      // Claimer two neither waits for it nor comes back empty-handed: it takes the next task and
      // commits while one's transaction is still open.
      const next = (await two.claimNext(worker('two')))!
      expect(next).toBeDefined()
      expect(next.id).not.toBe(heldId)
      expect(await lockWaits(`${schema}-two`)).toEqual([])
      finish.resolve()
      expect((await first).id).toBe(heldId)
      // And the rest are claimed once each by two claimers racing.
      const claimed = [heldId, next.id]
      const race = async (board: Board, name: string) => {
        for (;;) {
          const task = await board.claimNext(worker(name))
          if (!task) return
          claimed.push(task.id)
        }
      }
      await Promise.all([race(one, 'one'), race(two, 'two'), race(one, 'one-b'), race(two, 'two-b')])
      expect(claimed.sort()).toEqual((await one.listTasks()).map((task) => task.id).sort())
      expect(new Set(claimed).size).toBe(10)
      const claimedEvents = (await one.events({ limit: 1000 })).filter((event) => event.kind === 'claimed')
      expect(claimedEvents).toHaveLength(10)
    } finally {
      await Promise.all([one.close(), two.close()])
    }
  })

  it('of two dependencies completed at once, the second completion promotes the dependent', async () => {
    const schema = freshSchema()
    const [one, two] = await openTwo(schema)
    try {
      const a = await one.createTask({ title: 'a', priority: 2 })
      const b = await one.createTask({ title: 'b', priority: 1 })
      const c = await one.createTask({ title: 'c', dependsOn: [a.id, b.id] })
      const claimA = (await one.claimNext(worker('one')))!
      const claimB = (await two.claimNext(worker('two')))!
      expect([claimA.id, claimB.id]).toEqual([a.id, b.id])
      const completedA = signal()
      const finish = signal()
      // A's completion stays uncommitted while B's runs: B's must wait for it and then see A done.
      const first = one.writeTxn(async () => {
        await one.complete(a.id, claimA.claimToken)
        completedA.resolve()
        await finish.promise
      })
      await completedA.promise
      const second = two.complete(b.id, claimB.claimToken)
      // B's completion waits for the dependent's row, which A's completion locked.
      await until(async () => (await lockWaits(`${schema}-two`)).length > 0)
      expect(await lockWaits(`${schema}-two`)).toEqual(['transactionid'])
      finish.resolve()
      await first
      await second
      expect((await one.getTask(c.id))!.status).toBe('ready')
      expect((await one.events({ taskId: c.id })).map((event) => event.kind)).toEqual(['created', 'promoted'])
    } finally {
      await Promise.all([one.close(), two.close()])
    }
  })
})

import type pg from 'pg'
import { expect, it } from 'vitest'
import { EVENTS_ORDER_TRIGGER, postgres } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, track, until } from './server.js'

/**
 * An event cursor (`id > cursor`) must never skip an event that commits late. Identity values are
 * drawn at insert time, not at commit: T1 draws id 1 and stays open, T2 draws id 2 and commits, a
 * reader sees 2 and moves its cursor past 1, then T1 commits id 1 behind the cursor. The events
 * trigger's advisory lock makes T2's insert wait for T1's commit. The control disables the trigger
 * and shows the skip happening.
 */
describeServer('postgres engine: event ids in commit order', () => {
  const insertEvent = (client: pg.Client) =>
    client.query<{ id: number }>(`INSERT INTO events (task_id, kind, created_at) VALUES ('t', 'noted', 0) RETURNING id`)

  /** Runs the interleaving above on a fresh board; returns what the reader saw and what exists. */
  async function race(triggerEnabled: boolean) {
    const schema = freshSchema()
    track(await postgres({ connectionString: serverUrl(), schema, poolSize: 1 }).open({ readonly: false }))
    const [t1, t2, reader] = await Promise.all([rawClient(schema), rawClient(schema), rawClient(schema)])
    await reader.query(`INSERT INTO tasks (id, title, status, created_at, updated_at) VALUES ('t', 't', 'ready', 0, 0)`)
    if (!triggerEnabled) await reader.query(`ALTER TABLE events DISABLE TRIGGER ${EVENTS_ORDER_TRIGGER}`)

    let cursor = 0
    const seen: number[] = []
    const read = async () => {
      const { rows } = await reader.query<{ id: number }>('SELECT id FROM events WHERE id > $1 ORDER BY id', [cursor])
      for (const row of rows) seen.push(row.id)
      cursor = rows.at(-1)?.id ?? cursor
    }

    await t1.query('BEGIN')
    const first = (await insertEvent(t1)).rows[0]!.id
    await t2.query('BEGIN')
    const t2Insert = insertEvent(t2)
    let t2WaitedForT1 = false
    if (triggerEnabled) {
      // T2's insert is blocked on the events lock while T1 is open (the server says so).
      const t2Pid = (t2 as unknown as { processID: number }).processID
      await until(async () => {
        const { rows } = await reader.query(`SELECT wait_event FROM pg_stat_activity WHERE pid = $1`, [t2Pid])
        return rows[0]?.wait_event === 'advisory'
      })
      t2WaitedForT1 = true
    } else {
      await t2Insert
      await t2.query('COMMIT')
    }
    await read()
    await t1.query('COMMIT')
    const second = (await t2Insert).rows[0]!.id
    if (triggerEnabled) await t2.query('COMMIT')
    await read()
    const all = (await reader.query<{ id: number }>('SELECT id FROM events ORDER BY id')).rows.map((row) => row.id)
    return { first, second, seen, all, t2WaitedForT1 }
  }

  it('CONTROL: without the trigger, a reader cursor skips the event that committed late', async () => {
    const { first, second, seen, all } = await race(false)
    expect(first).toBeLessThan(second)
    expect(all).toEqual([first, second])
    // The damage: the reader saw the later id first, moved past the earlier one, and never saw it.
    expect(seen).toEqual([second])
  })

  it('with the trigger, the second writer waits for the first, ids follow commit order and nothing is skipped', async () => {
    const { first, second, seen, all, t2WaitedForT1 } = await race(true)
    expect(t2WaitedForT1).toBe(true)
    expect(first).toBeLessThan(second)
    expect(all).toEqual([first, second])
    expect(seen).toEqual([first, second])
  })
})

import type pg from 'pg'
import { expect, it } from 'vitest'
import { EVENTS_ORDER_TRIGGER, postgres } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, track, until } from './server.js'

/**
 * An event cursor (`id > cursor`) must never skip an event that commits late. Identity values are
 * drawn at insert time, not at commit: T1 draws id 1 and stays open, T2 draws id 2 and commits, a
 * reader sees 2 and moves its cursor past 1, then T1 commits id 1 behind the cursor. The events
 * trigger gives each event its final id at COMMIT, under an advisory lock held until the commit is
 * visible, so ids follow commit order: T2's event ends below T1's. The control disables the trigger
 * and shows the skip happening.
 */
describeServer('postgres engine: event ids in commit order', () => {
  const insertEvent = (client: pg.Client, kind: string) => client.query(`INSERT INTO events (task_id, kind, created_at) VALUES ('t', $1, 0)`, [kind])

  /** Runs the interleaving above on a fresh board; returns what the reader saw and what exists, by writer. */
  async function race(triggerEnabled: boolean) {
    const schema = freshSchema()
    track(await postgres({ connectionString: serverUrl(), schema, poolSize: 1 }).open({ readonly: false }))
    const [t1, t2, reader] = await Promise.all([rawClient(schema), rawClient(schema), rawClient(schema)])
    await reader.query(`INSERT INTO tasks (id, title, status, created_at, updated_at) VALUES ('t', 't', 'ready', 0, 0)`)
    if (!triggerEnabled) await reader.query(`ALTER TABLE events DISABLE TRIGGER ${EVENTS_ORDER_TRIGGER}`)

    let cursor = 0
    const seen: string[] = []
    const read = async () => {
      const { rows } = await reader.query<{ id: number; kind: string }>('SELECT id, kind FROM events WHERE id > $1 ORDER BY id', [cursor])
      for (const row of rows) seen.push(row.kind)
      cursor = rows.at(-1)?.id ?? cursor
    }

    await t1.query('BEGIN')
    await insertEvent(t1, 't1')
    await t2.query('BEGIN')
    await insertEvent(t2, 't2')
    await t2.query('COMMIT')
    await read()
    await t1.query('COMMIT')
    await read()
    const all = (await reader.query<{ kind: string }>('SELECT kind FROM events ORDER BY id')).rows.map((row) => row.kind)
    return { seen, all }
  }

  it('CONTROL: without the trigger, a reader cursor skips the event that committed late', async () => {
    const { seen, all } = await race(false)
    // Ids in insert order: T1's event is below T2's although it committed later.
    expect(all).toEqual(['t1', 't2'])
    // The damage: the reader saw the later id first, moved past the earlier one, and never saw it.
    expect(seen).toEqual(['t2'])
  })

  it('with the trigger, ids follow commit order and the reader sees every event', async () => {
    const { seen, all } = await race(true)
    expect(all).toEqual(['t2', 't1'])
    expect(seen).toEqual(['t2', 't1'])
  })

  it('with the trigger, a COMMIT waits while another event-writing transaction commits (the lock is held from COMMIT to its end only)', async () => {
    const schema = freshSchema()
    track(await postgres({ connectionString: serverUrl(), schema, poolSize: 1 }).open({ readonly: false }))
    const [t1, t2, watcher] = await Promise.all([rawClient(schema), rawClient(schema), rawClient(schema)])
    await watcher.query(`INSERT INTO tasks (id, title, status, created_at, updated_at) VALUES ('t', 't', 'ready', 0, 0)`)
    // T1 takes the events lock the way its COMMIT would, and holds it: T2's COMMIT must wait.
    await t1.query('BEGIN')
    await insertEvent(t1, 't1')
    await t1.query('SET CONSTRAINTS ALL IMMEDIATE')
    await t2.query('BEGIN')
    await insertEvent(t2, 't2')
    const t2Commit = t2.query('COMMIT')
    const t2Pid = (t2 as unknown as { processID: number }).processID
    await until(async () => (await watcher.query(`SELECT wait_event FROM pg_stat_activity WHERE pid = $1`, [t2Pid])).rows[0]?.wait_event === 'advisory')
    await t1.query('COMMIT')
    await t2Commit
    expect((await watcher.query<{ kind: string }>('SELECT kind FROM events ORDER BY id')).rows.map((row) => row.kind)).toEqual(['t1', 't2'])
  })
})

import { openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { expect, it } from 'vitest'
import { postgres, postgresMigrations, SCHEMA_VERSION_TABLE } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl } from './server.js'

describeServer('postgres engine: migration 5 on a board made by the previous release', () => {
  it('numbers old comments and attachments in their old order, frees an archived key, keeps runs and subscriptions', async () => {
    const schema = freshSchema()
    const admin = await rawClient()
    // The board exactly as the previous release left it: steps 3 and 4, with work on it.
    await admin.query(`CREATE SCHEMA ${schema}`)
    await admin.query(`CREATE TABLE ${schema}.${SCHEMA_VERSION_TABLE} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
    await admin.query(`BEGIN; SET LOCAL search_path TO ${schema}`)
    for (const step of postgresMigrations(schema).filter((step) => step.version <= 4)) {
      await admin.query(step.sql)
      await admin.query(`INSERT INTO ${schema}.${SCHEMA_VERSION_TABLE} VALUES ($1, 'old', 0)`, [step.version])
    }
    await admin.query(`
      INSERT INTO tasks (id, title, status, created_at, updated_at, idempotency_key) VALUES ('old', 'archived by v4', 'archived', 1, 1, 'key-1');
      INSERT INTO tasks (id, title, status, created_at, updated_at, idempotency_key) VALUES ('live', 'ready in v4', 'ready', 1, 1, 'key-2');
      INSERT INTO comments (id, task_id, body, created_at) VALUES ('c_b', 'live', 'second', 5), ('c_a', 'live', 'first', 5), ('c_c', 'live', 'third', 6);
      INSERT INTO attachments (id, task_id, name, uri, created_at) VALUES ('a_2', 'live', 'two', 'u:2', 7), ('a_1', 'live', 'one', 'u:1', 7);
      INSERT INTO task_runs (id, task_id, attempt, worker_id, pid, host, claim_token, started_at, ended_at, outcome, error)
        VALUES ('r_1', 'old', 1, 'w', 1, 'h', 'tok', 1, 2, 'failed', 'boom');
      INSERT INTO subscriptions (id, last_event_id, created_at, updated_at) VALUES ('mail', 0, 1, 1);
    `)
    await admin.query('COMMIT')

    const board = await openBoard({ engine: postgres({ connectionString: serverUrl(), schema, poolSize: 2 }) })
    try {
      expect((await board.health()).schemaVersion).toBe(LATEST_SCHEMA_VERSION)
      expect((await board.comments('live')).map((comment) => comment.body)).toEqual(['first', 'second', 'third'])
      expect((await board.attachments('live')).map((attachment) => attachment.name)).toEqual(['one', 'two'])
      await board.addComment('live', { body: 'fourth' })
      expect((await board.comments('live')).map((comment) => comment.body)).toEqual(['first', 'second', 'third', 'fourth'])
      expect(await board.runs('old')).toMatchObject([{ role: 'work', outcome: 'failed', error: 'boom', summary: null, result: null, metadata: null }])
      expect((await board.getTask('old'))!.idempotencyKey).toBe('key-1')
      expect((await board.createTask({ title: 'new', idempotencyKey: 'key-1' })).id).not.toBe('old')
      expect((await board.createTask({ title: 'same', idempotencyKey: 'key-2' })).id).toBe('live')
      expect(await board.subscribe('mail')).toBe(0)
    } finally {
      await board.close()
    }
  })
})

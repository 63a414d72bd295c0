import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { migrations } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

// Migration 5: runs keep role, summary, result, metadata; comments and attachments a per-task seq
// (numbered from their old order, time then id); subscriptions a scope; an archived task's
// idempotency key moves to archived_idempotency_key, freeing it. A board of the previous release,
// with work on it, must open and keep what it had.

for (const { name, create } of bundledAdapters) {
  describe(`migration 5 on ${name}`, () => {
    it('migrates a v4 board with comments, runs, an archived key and a subscription', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'v4.db')
      const raw = await adapter.open(path)
      raw.exec('BEGIN IMMEDIATE')
      for (const step of migrations.filter((migration) => migration.version <= 4)) raw.exec(step.sql)
      raw.exec('PRAGMA user_version = 4')
      raw.exec(`
        INSERT INTO tasks (id, title, status, created_at, updated_at, idempotency_key) VALUES ('old', 'archived by v4', 'archived', 1, 1, 'key-1');
        INSERT INTO tasks (id, title, status, created_at, updated_at, idempotency_key) VALUES ('live', 'ready in v4', 'ready', 1, 1, 'key-2');
        INSERT INTO comments (id, task_id, body, created_at) VALUES ('c_b', 'live', 'second', 5), ('c_a', 'live', 'first', 5), ('c_c', 'live', 'third', 6);
        INSERT INTO attachments (id, task_id, name, uri, created_at) VALUES ('a_2', 'live', 'two', 'u:2', 7), ('a_1', 'live', 'one', 'u:1', 7);
        INSERT INTO task_runs (id, task_id, attempt, worker_id, pid, host, claim_token, started_at, ended_at, outcome, error)
          VALUES ('r_1', 'old', 1, 'w', 1, 'h', 'tok', 1, 2, 'failed', 'boom');
        INSERT INTO subscriptions (id, last_event_id, created_at, updated_at) VALUES ('mail', 0, 1, 1);
      `)
      raw.exec('COMMIT')
      raw.close()

      const board = await openBoard({ path, adapter })
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
}

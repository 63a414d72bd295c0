import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { migrations } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

for (const { name, create } of bundledAdapters.filter((adapter) => adapter.name !== 'sql.js')) {
  describe(`migration 2 on ${name}`, () => {
    it('upgrades a board left at version 1 in place: its tasks, runs and events stay, new fields take their defaults', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'v1.db')
      const raw = await adapter.open(path)
      raw.exec('BEGIN IMMEDIATE')
      raw.exec(migrations[0]!.sql)
      raw.exec('PRAGMA user_version = 1')
      raw.exec(
        "INSERT INTO tasks (id, title, status, created_at, updated_at, attempts, max_attempts) VALUES ('old', 'from v1', 'ready', 1, 1, 1, 3)",
      )
      raw.exec("INSERT INTO events (task_id, kind, to_status, created_at) VALUES ('old', 'created', 'ready', 1)")
      raw.exec('COMMIT')
      raw.close()
      const board = await openBoard({ path, adapter })
      try {
        expect((await board.health()).schemaVersion).toBe(LATEST_SCHEMA_VERSION)
        expect(await board.getTask('old')).toMatchObject({
          title: 'from v1',
          status: 'ready',
          attempts: 1,
          consecutiveFailures: 0,
          maxRetries: null,
          blockKind: null,
          blockRecurrences: 0,
          dueAt: null,
          tenant: null,
          reviewRejections: 0,
        })
        expect(await board.events()).toHaveLength(1)
        const claim = (await board.claimNext({ workerId: 'w', leaseMs: 1000 }))!
        expect(await board.fail('old', claim.claimToken, 'x')).toMatchObject({ status: 'ready', consecutiveFailures: 1 })
        expect(await board.subscribe('n')).toBe(0)
      } finally {
        await board.close()
      }
    })
  })
}

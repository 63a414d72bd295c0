import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { migrations } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

// Migration 4 adds tasks.not_before (a retry's backoff, a rate limit's cooldown). A board of the
// previous release, with work on it, must open, keep its ready task claimable, and from then on
// hold a backoff against every claimer.

for (const { name, create } of bundledAdapters) {
  describe(`migration 4 on ${name}`, () => {
    it('adds not_before to a v3 board with a ready task: still claimable, and a backoff keeps it from claimers', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'v3.db')
      const raw = await adapter.open(path)
      raw.exec('BEGIN IMMEDIATE')
      for (const step of migrations.filter((migration) => migration.version <= 3)) raw.exec(step.sql)
      raw.exec('PRAGMA user_version = 3')
      raw.exec(`INSERT INTO tasks (id, title, status, created_at, updated_at) VALUES ('old', 'made by v3', 'ready', 1, 1)`)
      raw.exec('COMMIT')
      raw.close()

      const board = await openBoard({ path, adapter })
      try {
        expect((await board.health()).schemaVersion).toBe(LATEST_SCHEMA_VERSION)
        expect(await board.getTask('old')).toMatchObject({ status: 'ready', notBefore: null })
        const claim = (await board.claimNext({ workerId: 'w', leaseMs: 60_000 }))!
        expect(claim.id).toBe('old')
        await board.fail('old', claim.claimToken, 'try later', { retryAfterMs: 3_600_000 })
        expect((await board.getTask('old'))!.notBefore).toBeGreaterThan(Date.now())
        expect(await board.claimNext({ workerId: 'w', leaseMs: 60_000 })).toBeUndefined()
      } finally {
        await board.close()
      }
    })
  })
}

import { openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { expect, it } from 'vitest'
import { postgres, postgresMigrations, SCHEMA_VERSION_TABLE } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl } from './server.js'

describeServer('postgres engine: migration 4 (not_before) on a board made by the previous release', () => {
  it('adds the column to a v3 board with work on it; its ready task stays claimable and a backoff is respected', async () => {
    const schema = freshSchema()
    const admin = await rawClient()
    // The board exactly as the previous release left it: step 3 only, with a ready task.
    await admin.query(`CREATE SCHEMA ${schema}`)
    await admin.query(`CREATE TABLE ${schema}.${SCHEMA_VERSION_TABLE} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
    await admin.query(`BEGIN; SET LOCAL search_path TO ${schema}`)
    await admin.query(postgresMigrations(schema)[0]!.sql)
    await admin.query(`INSERT INTO ${schema}.${SCHEMA_VERSION_TABLE} VALUES (3, 'v3', 0)`)
    await admin.query(`INSERT INTO ${schema}.tasks (id, title, status, created_at, updated_at, max_attempts) VALUES ('old', 'made by v3', 'ready', 1, 1, 3)`)
    await admin.query('COMMIT')

    const board = await openBoard({ engine: postgres({ connectionString: serverUrl(), schema, poolSize: 2 }) })
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

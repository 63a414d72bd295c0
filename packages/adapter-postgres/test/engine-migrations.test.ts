import { LATEST_SCHEMA_VERSION, type BoardSchema } from '@kanban-db/core/adapter'
import { expect, it } from 'vitest'
import { IDEMPOTENCY_CONSTRAINT, postgres, postgresMigrations } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, track, until } from './server.js'

/**
 * Every column of BoardSchema with its Postgres type. Typed against BoardSchema, so `tsc` fails
 * when core adds, renames or drops a column this table does not know.
 */
const expectedColumns: { [Table in keyof BoardSchema]: Record<keyof BoardSchema[Table], string> } = {
  tasks: {
    id: 'text', title: 'text', body: 'text', status: 'text', priority: 'bigint', assignee: 'text', created_by: 'text',
    idempotency_key: 'text', meta: 'text', created_at: 'bigint', updated_at: 'bigint', started_at: 'bigint', completed_at: 'bigint',
    claim_token: 'text', claimed_by: 'text', worker_pid: 'integer', worker_host: 'text', claimed_at: 'bigint',
    claim_expires_at: 'bigint', lease_ms: 'bigint', heartbeat_at: 'bigint', current_run_id: 'text', attempts: 'integer',
    max_attempts: 'integer', result: 'text', last_error: 'text', block_reason: 'text', consecutive_failures: 'integer',
    max_retries: 'integer', block_kind: 'text', block_recurrences: 'integer', due_at: 'bigint', tenant: 'text',
    max_runtime_ms: 'bigint', review_requested_by: 'text', review_summary: 'text', review_rejections: 'integer', not_before: 'bigint',
    archived_idempotency_key: 'text',
  },
  task_dependencies: { task_id: 'text', depends_on_id: 'text', created_at: 'bigint' },
  task_runs: {
    id: 'text', task_id: 'text', attempt: 'integer', worker_id: 'text', pid: 'integer', host: 'text', claim_token: 'text',
    started_at: 'bigint', heartbeat_at: 'bigint', ended_at: 'bigint', outcome: 'text', error: 'text', role: 'text', summary: 'text',
    result: 'text', metadata: 'text',
  },
  events: {
    id: 'bigint', task_id: 'text', run_id: 'text', kind: 'text', from_status: 'text', to_status: 'text', payload: 'text', created_at: 'bigint',
  },
  comments: { id: 'text', task_id: 'text', author: 'text', body: 'text', created_at: 'bigint', seq: 'bigint' },
  attachments: {
    id: 'text', task_id: 'text', name: 'text', uri: 'text', media_type: 'text', size_bytes: 'bigint', sha256: 'text', created_by: 'text',
    created_at: 'bigint', seq: 'bigint',
  },
  subscriptions: {
    id: 'text', last_event_id: 'bigint', lease_token: 'text', lease_expires_at: 'bigint', lease_until_event_id: 'bigint',
    created_at: 'bigint', updated_at: 'bigint', task_id: 'text', kinds: 'text',
  },
}

const open = (schema: string, readonly = false) => postgres({ connectionString: serverUrl(), schema, poolSize: 2 }).open({ readonly })

describeServer('postgres engine: creating and migrating the board', () => {
  it("creates the board at core's schema version with BoardSchema's tables, columns and types", async () => {
    const schema = freshSchema()
    const engine = track(await open(schema))
    expect(postgresMigrations(schema).at(-1)!.version).toBe(LATEST_SCHEMA_VERSION)
    expect(await engine.schemaVersion()).toBe(LATEST_SCHEMA_VERSION)
    const admin = await rawClient()
    const { rows } = await admin.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name <> 'kanban_db_schema_version'`,
      [schema],
    )
    const actual: Record<string, Record<string, string>> = {}
    for (const row of rows) (actual[row.table_name] ??= {})[row.column_name] = row.data_type
    expect(actual).toEqual(expectedColumns)
    const identity = await admin.query(`SELECT is_identity, identity_generation FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'events' AND column_name = 'id'`, [schema])
    expect(identity.rows).toEqual([{ is_identity: 'YES', identity_generation: 'BY DEFAULT' }])
    const unique = await admin.query(`SELECT contype FROM pg_constraint WHERE conname = $1 AND connamespace = $2::regnamespace`, [IDEMPOTENCY_CONSTRAINT, schema])
    expect(unique.rows).toEqual([{ contype: 'u' }])
    const partial = await admin.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '% WHERE %' ORDER BY indexname`,
      [schema],
    )
    expect(partial.rows.map((index) => index.indexname)).toEqual(['tasks_by_tenant', 'tasks_ready_queue', 'tasks_running_expiry', 'tasks_scheduled_due'])
    const cascades = await admin.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND confdeltype = 'c' AND connamespace = $1::regnamespace`, [schema])
    expect(cascades.rows[0].n).toBe(6)
  })

  it('lets 8 engines open one fresh database at once: each succeeds and the DDL is applied once', async () => {
    const schema = freshSchema()
    const engines = await Promise.all(Array.from({ length: 8 }, () => open(schema).then(track)))
    expect(await Promise.all(engines.map((engine) => engine.schemaVersion()))).toEqual(Array(8).fill(LATEST_SCHEMA_VERSION))
    const admin = await rawClient(schema)
    // One row per applied step; the step's DDL has no IF NOT EXISTS, so a second run would have failed an open.
    const applied = await admin.query('SELECT version FROM kanban_db_schema_version ORDER BY version')
    expect(applied.rows).toEqual(postgresMigrations(schema).map((step) => ({ version: step.version })))
  })

  it('creates the board only under the migration lock, and opens a current board without it', async () => {
    const schema = freshSchema()
    const holder = await rawClient()
    await holder.query(`SELECT pg_advisory_lock(hashtext('kanban_db.migrate'), hashtext($1))`, [schema])
    const opening = open(schema)
    // The opener waits for the lock (seen in pg_locks), and has created nothing yet.
    await until(async () => {
      const { rows } = await holder.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
           AND classid = hashtext('kanban_db.migrate')::oid AND objid = hashtext($1)::oid AND objsubid = 2`,
        [schema],
      )
      return rows[0].n > 0
    })
    expect((await holder.query('SELECT to_regnamespace($1) AS ns', [schema])).rows[0].ns).toBeNull()
    await holder.query(`SELECT pg_advisory_unlock(hashtext('kanban_db.migrate'), hashtext($1))`, [schema])
    const engine = track(await opening)
    expect(await engine.schemaVersion()).toBe(LATEST_SCHEMA_VERSION)
    // With the lock held again, a current board still opens: the version check comes first.
    await holder.query(`SELECT pg_advisory_lock(hashtext('kanban_db.migrate'), hashtext($1))`, [schema])
    track(await open(schema))
    track(await open(schema, true))
  })

  it("waits for another process's migration however long it takes, whatever statementTimeoutMs says", async () => {
    const schema = freshSchema()
    const holder = await rawClient()
    await holder.query(`SELECT pg_advisory_lock(hashtext('kanban_db.migrate'), hashtext($1))`, [schema])
    const opening = postgres({ connectionString: serverUrl(), schema, poolSize: 1, statementTimeoutMs: 200 }).open({ readonly: false })
    // The server shows the opener's lock wait outliving the 200 ms statement timeout it would otherwise
    // have; an open that fails (or finishes) meanwhile ends the wait at once.
    const openedEarly = opening.then(() => {
      throw new Error('opened while the migration lock was held')
    })
    openedEarly.catch(() => {}) // once the lock is released, opening is expected
    await Promise.race([openedEarly, until(async () => {
      const { rows } = await holder.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
          WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = hashtext($1)::oid
            AND clock_timestamp() - a.query_start > interval '300 milliseconds'`,
        [schema],
      )
      return rows[0].n > 0
    })])
    await holder.query(`SELECT pg_advisory_unlock(hashtext('kanban_db.migrate'), hashtext($1))`, [schema])
    const engine = track(await opening)
    expect(await engine.schemaVersion()).toBe(LATEST_SCHEMA_VERSION)
  })

  it('refuses a board newer than this code, read-only or not, and leaves it unchanged', async () => {
    const schema = freshSchema()
    await (await open(schema)).close()
    const admin = await rawClient(schema)
    await admin.query(`INSERT INTO kanban_db_schema_version VALUES (99, 'from the future', 0)`)
    await expect(open(schema)).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH', details: { version: 99 } })
    await expect(open(schema, true)).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH', details: { version: 99 } })
    expect((await admin.query('SELECT max(version) AS v FROM kanban_db_schema_version')).rows[0].v).toBe(99)
  })

  it('opens read-only only a board that exists and is current, saying what to do otherwise', async () => {
    const missing = freshSchema()
    const notFound = await open(missing, true).catch((error: unknown) => error)
    expect(notFound).toMatchObject({ code: 'BOARD_NOT_FOUND' })
    expect((notFound as Error).message).toMatch(/without readonly to create it/)
    const admin = await rawClient()
    expect((await admin.query('SELECT to_regnamespace($1) AS ns', [missing])).rows[0].ns).toBeNull()

    const older = freshSchema()
    await (await open(older)).close()
    await admin.query(`DELETE FROM ${older}.kanban_db_schema_version`)
    await admin.query(`INSERT INTO ${older}.kanban_db_schema_version VALUES (2, 'an older board', 0)`)
    const mismatch = await open(older, true).catch((error: unknown) => error)
    expect(mismatch).toMatchObject({ code: 'SCHEMA_MISMATCH', details: { version: 2 } })
    expect((mismatch as Error).message).toMatch(/without readonly to migrate/)
  })

  it('fails to open with ConnectionLost when the server cannot be reached, naming no password', async () => {
    const error = await postgres({ connectionString: 'postgresql://kanban:s3cret@localhost/postgres?host=/nonexistent-socket-dir', schema: freshSchema() })
      .open({ readonly: false })
      .catch((failure: unknown) => failure)
    expect(error).toMatchObject({ code: 'CONNECTION_LOST' })
    expect((error as Error).message).not.toContain('s3cret')
    expect((error as Error).message).toContain('/nonexistent-socket-dir')
  })
})

import { strict as assert } from 'node:assert'
import { KanbanDbError, openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION, sqliteCodeOf, type SqliteConnection } from '@kanban-db/core/adapter'
import { migrate, migrations } from '@kanban-db/core/internal'
import type { CaseContext, ConformanceCase } from '../case.js'

interface SchemaFacts {
  readonly version: number
  /** Every schema object's type, name and SQL, sorted. */
  readonly objects: string
  readonly tasks: number
  readonly events: number
}

/**
 * The schema version lives in `PRAGMA user_version`, and migrating is idempotent: reopening a
 * board changes nothing; the migration procedure run again on a migrated file changes nothing;
 * concurrent first opens (where the file is shared) end with one schema; a file from a newer
 * kanban-db is refused with `SchemaMismatch` and left as it was. Whether each step's SQL is
 * re-runnable on its own is reported in the notes.
 */
export const schemaMigrationsIdempotent: ConformanceCase = {
  id: 'core.schema-migrations-idempotent',
  title: 'schema version in user_version; reopening and re-running the migrations change nothing; concurrent first opens agree; a newer file is refused untouched',
  tier: 'core',
  requires: [],
  timeoutMs: 60_000,
  async run(context) {
    const path = context.path('board.db')
    const board = await openBoard({ path, adapter: context.adapter })
    try {
      await board.createTasks([{ id: 'a', title: 'a' }, { id: 'b', title: 'b', dependsOn: ['a'] }])
    } finally {
      await board.close()
    }
    const first = await facts(context, path)
    assert.equal(first.version, LATEST_SCHEMA_VERSION, 'user_version is not the latest schema version after the first open')
    assert.equal(first.tasks, 2)

    for (let reopen = 0; reopen < 3; reopen++) {
      await (await openBoard({ path, adapter: context.adapter })).close()
    }
    assert.deepEqual(await facts(context, path), first, 'reopening the board changed its schema or data')

    // The migration procedure run again on a migrated file (as a second process that lost the
    // init-lock race does) is a no-op.
    await withConnection(context, path, (connection) => {
      migrate(connection)
      migrate(connection)
    })
    assert.deepEqual(await facts(context, path), first, 'running the migrations again changed the schema or data')

    // Each step's SQL on a file that already has it: the Migration contract says it is safe. Reported,
    // not failed: the procedure above never re-runs a step whose version the file already has.
    const scratch = context.path('rerun.db')
    await (await openBoard({ path: scratch, adapter: context.adapter })).close()
    const notRerunnable: string[] = []
    await withConnection(context, scratch, (connection) => {
      for (const migration of migrations) {
        try {
          connection.exec('BEGIN IMMEDIATE')
          connection.exec(migration.sql)
        } catch (error) {
          notRerunnable.push(`v${migration.version} (${sqliteCodeOf(error) ?? 'error'}: ${error instanceof Error ? error.message : String(error)})`)
        } finally {
          if (connection.inTransaction) connection.exec('ROLLBACK')
        }
      }
    })
    context.note(
      notRerunnable.length === 0
        ? `every migration step's SQL re-runs cleanly on a migrated file (${migrations.length} steps)`
        : `migration SQL that is not re-runnable on a migrated file (Migration's contract says it must be): ${notRerunnable.join('; ')}`,
    )

    if (context.adapter.capabilities.sharedFile) {
      const racePath = context.path('race.db')
      const boards = await Promise.all([1, 2, 3].map(() => openBoard({ path: racePath, adapter: context.adapter })))
      await Promise.all(boards.map((opened) => opened.close()))
      const raced = await facts(context, racePath)
      assert.equal(raced.version, LATEST_SCHEMA_VERSION)
      assert.equal(raced.objects, first.objects, 'concurrent first opens produced a different schema')
    }

    const newer = LATEST_SCHEMA_VERSION + 1
    await withConnection(context, path, (connection) => connection.exec(`PRAGMA user_version = ${newer}`))
    const refusal = await openBoard({ path, adapter: context.adapter }).then(
      async (opened) => {
        await opened.close()
        return undefined
      },
      (error: unknown) => error,
    )
    assert.ok(KanbanDbError.isKanbanDbError(refusal), `a file of schema version ${newer} was opened (or failed unnamed: ${String(refusal)})`)
    assert.equal(refusal.code, 'SCHEMA_MISMATCH')
    assert.deepEqual(await facts(context, path), { ...first, version: newer }, 'the refused newer file was changed')
  },
}

async function withConnection(context: CaseContext, path: string, fn: (connection: SqliteConnection) => void): Promise<void> {
  const connection = await context.adapter.open(path)
  try {
    fn(connection)
  } finally {
    connection.close()
  }
}

async function facts(context: CaseContext, path: string): Promise<SchemaFacts> {
  let result: SchemaFacts | undefined
  await withConnection(context, path, (connection) => {
    const value = (sql: string) => Number(Object.values(connection.prepare(sql).all([])[0]!)[0])
    const objects = connection
      .prepare("select type, name, tbl_name, coalesce(sql, '') as sql from sqlite_schema where name not like 'sqlite_stat%' order by type, name")
      .all([])
      .map((row) => `${row.type} ${row.name} on ${row.tbl_name}: ${row.sql}`)
      .join('\n')
    result = { version: value('PRAGMA user_version'), objects, tasks: value('select count(*) from tasks'), events: value('select count(*) from events') }
  })
  return result!
}

import { strict as assert } from 'node:assert'
import { KanbanDbError, LATEST_SCHEMA_VERSION, migrations, openBoard, type SqliteConnection } from '@kanban-db/core'
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
 * board changes nothing; every migration's SQL run again on a migrated file changes nothing; a
 * file whose DDL is in place but whose version was left behind (a crash between the two) migrates
 * forward without losing a row; concurrent first opens (where the file is shared) end with one
 * schema; a file from a newer kanban-db is refused with `SchemaMismatch` and left as it was.
 */
export const schemaMigrationsIdempotent: ConformanceCase = {
  id: 'core.schema-migrations-idempotent',
  title: 'schema version in user_version; reopening, re-running migrations and a left-behind version change nothing; a newer file is refused untouched',
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

    await withConnection(context, path, (connection) => {
      for (const migration of migrations) connection.exec(migration.sql)
    })
    assert.deepEqual(await facts(context, path), first, 'running every migration again changed the schema or data')

    await withConnection(context, path, (connection) => connection.exec('PRAGMA user_version = 0'))
    await (await openBoard({ path, adapter: context.adapter })).close()
    assert.deepEqual(await facts(context, path), first, 'migrating a file whose version was left behind changed its schema or data')

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

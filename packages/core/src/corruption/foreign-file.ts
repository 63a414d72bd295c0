import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { ForeignDatabase } from '../errors/errors.js'

/** One forward-only schema step, as `schema/migrations.ts` lists them (only what this file needs). */
export interface SchemaStep {
  readonly version: number
  readonly sql: string
}

/** The tables a board has at each schema version, each with its columns: `shapes.get(version)`. */
export type SchemaShapes = ReadonlyMap<number, ReadonlyMap<string, ReadonlySet<string>>>

const cache = new WeakMap<SqliteAdapter, WeakMap<readonly SchemaStep[], Promise<SchemaShapes>>>()

/**
 * What a board's tables and columns are after each step of `steps`, learnt by applying the steps one
 * by one to a private `:memory:` database of `adapter` (never the board's file), once per adapter
 * and list of steps.
 */
export function schemaShapes(adapter: SqliteAdapter, steps: readonly SchemaStep[]): Promise<SchemaShapes> {
  let byAdapter = cache.get(adapter)
  if (byAdapter === undefined) cache.set(adapter, (byAdapter = new WeakMap()))
  let shapes = byAdapter.get(steps)
  if (shapes === undefined) {
    shapes = learnShapes(adapter, steps)
    byAdapter.set(steps, shapes)
    shapes.catch(() => byAdapter.delete(steps))
  }
  return shapes
}

async function learnShapes(adapter: SqliteAdapter, steps: readonly SchemaStep[]): Promise<SchemaShapes> {
  const scratch = await adapter.open(':memory:')
  try {
    const shapes = new Map<number, ReadonlyMap<string, ReadonlySet<string>>>()
    for (const step of steps) {
      scratch.exec(step.sql)
      shapes.set(step.version, tablesOf(scratch))
    }
    return shapes
  } finally {
    scratch.close()
  }
}

/** The tables of `connection`'s main database (SQLite's own excepted), each with its columns. */
function tablesOf(connection: SqliteConnection): Map<string, Set<string>> {
  const tables = new Map<string, Set<string>>()
  const names = connection
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
    .all([])
    .map((row) => String(row.name))
  for (const name of names) {
    const columns = connection.prepare(`PRAGMA table_info("${name.replaceAll('"', '""')}")`).all([]).map((row) => String(row.name))
    tables.set(name, new Set(columns))
  }
  return tables
}

/**
 * Throws {@link ForeignDatabase} when the file behind `connection` is a SQLite database that is not a
 * kanban-db board, so the open policy refuses it before it switches the journal mode or writes
 * anything. Reads only (`sqlite_schema`, `user_version`, `table_info`). A board is:
 * - an empty database (no schema objects, `user_version` 0): a fresh file to initialise;
 * - `user_version` v in 1..latest with every table the steps up to v create, each with at least
 *   their columns (tables of your own beside them are allowed).
 * Tables without a schema version (kanban-db bumps `user_version` in the same transaction as its first
 * tables), a version and no tables, or a version without the board's tables are foreign. A version
 * newer than `steps` knows is left to the schema check (`SchemaMismatch`).
 */
export function assertBoardOrEmpty(connection: SqliteConnection, shapes: SchemaShapes): void {
  let version: number
  let tables: Map<string, Set<string>>
  let objectCount: number
  try {
    version = Number(Object.values(connection.prepare('PRAGMA user_version').all([])[0] ?? {})[0] ?? 0)
    tables = tablesOf(connection)
    objectCount = Number(connection.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all([])[0]?.n ?? 0)
  } catch (error) {
    throw classifySqliteError(error, `reading the schema of ${connection.path}`)
  }
  if (version === 0 && objectCount === 0) return
  const latest = Math.max(0, ...shapes.keys())
  if (version > latest) return
  const found = [...tables.keys()].sort()
  const refuse = (why: string): never => {
    throw new ForeignDatabase(
      `The file ${connection.path} is a SQLite database but not a kanban-db board: ${why}. ` +
        'It was left exactly as it was (no byte written, its journal mode unchanged). ' +
        'Open the board at another path, or move this file aside if it is not needed.',
      { details: { path: connection.path, userVersion: version, tables: found } },
    )
  }
  if (version === 0) refuse(`it has ${objectCount} schema object(s) (tables: ${found.join(', ') || 'none'}) and no kanban-db schema version (user_version 0)`)
  const expected = shapes.get(version)
  if (expected === undefined) refuse(`its user_version ${version} is not a kanban-db schema version`)
  const problems: string[] = []
  for (const [table, columns] of expected!) {
    const actual = tables.get(table)
    if (actual === undefined) {
      problems.push(`no table ${table}`)
      continue
    }
    const missing = [...columns].filter((column) => !actual.has(column))
    if (missing.length > 0) problems.push(`table ${table} lacks ${missing.join(', ')}`)
  }
  if (problems.length > 0) refuse(`at user_version ${version} a board has ${[...expected!.keys()].join(', ')}, and this file has ${problems.slice(0, 5).join('; ')}`)
}

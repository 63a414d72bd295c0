import type { DecodedSqliteError } from '@kanban-db/core/adapter'
import { sqliteCodeFromMessage } from '@kanban-db/core/adapter'

const THROWN = Symbol.for('kanban-db.sql-js-driver-errors')
/**
 * The errors sql.js threw through this adapter's connections and statements. sql.js throws a plain
 * `Error` carrying only SQLite's message, so its errors are known by having come through here; shared
 * by duplicate copies of this package (ESM beside CJS), as core asks the first one registered.
 */
const thrown: WeakSet<object> = ((globalThis as Record<symbol, unknown>)[THROWN] ??= new WeakSet<object>()) as WeakSet<object>

/** Marks `error` as thrown by sql.js and returns it unchanged, for `throw driverError(error)`. */
export function driverError(error: unknown): unknown {
  if (typeof error === 'object' && error !== null) thrown.add(error)
  return error
}

/** SQLite's messages for the constraint kinds it names in them (`UNIQUE constraint failed: t.x`). */
const CONSTRAINTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^UNIQUE constraint failed/, 'SQLITE_CONSTRAINT_UNIQUE'],
  [/^NOT NULL constraint failed/, 'SQLITE_CONSTRAINT_NOTNULL'],
  [/^CHECK constraint failed/, 'SQLITE_CONSTRAINT_CHECK'],
  [/^FOREIGN KEY constraint failed/, 'SQLITE_CONSTRAINT_FOREIGNKEY'],
]

/**
 * Reads SQLite's result code out of an error sql.js threw through this adapter. sql.js reports only
 * SQLite's message (`database is locked`, `file is not a database`), so the code is the primary one
 * that message names, extended only for the constraint kinds SQLite spells out. Undefined for any
 * other error, and for a sql.js message that names no code.
 */
export function decodeSqlJsError(error: unknown): DecodedSqliteError | undefined {
  if (!(error instanceof Error) || !thrown.has(error)) return undefined
  for (const [pattern, code] of CONSTRAINTS) if (pattern.test(error.message)) return { code }
  const code = sqliteCodeFromMessage(error.message)
  return code === undefined ? undefined : { code }
}

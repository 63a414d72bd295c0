import type { DecodedSqliteError } from '@kanban-db/core/adapter'

/**
 * Reads SQLite's result code out of an error better-sqlite3 threw: a `SqliteError` whose `code` is
 * SQLite's extended name (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_IOERR_SHORT_READ`).
 * Recognised by its name rather than by `instanceof`, so the errors of a better-sqlite3 module
 * given as `driver` (another copy, another class) are read too. Undefined for any other error.
 */
export function decodeBetterSqlite3Error(error: unknown): DecodedSqliteError | undefined {
  if (!(error instanceof Error) || error.name !== 'SqliteError') return undefined
  const { code } = error as { code?: unknown }
  return typeof code === 'string' && code.startsWith('SQLITE_') ? { code } : undefined
}

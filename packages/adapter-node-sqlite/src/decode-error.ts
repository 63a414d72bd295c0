import type { DecodedSqliteError } from '@kanban-db/core/adapter'
import { sqliteCodeFromMessage, sqliteCodeName } from '@kanban-db/core/adapter'

/**
 * Reads SQLite's result code out of an error node:sqlite threw: `code: 'ERR_SQLITE_ERROR'` with
 * SQLite's extended result code as the number `errcode` (5 for a busy lock, 2067 for a UNIQUE
 * constraint) and SQLite's text for it as `errstr`. The number is named (`SQLITE_BUSY`,
 * `SQLITE_CONSTRAINT_UNIQUE`); an extended code core has no name for keeps its primary name. Without
 * a number, `errstr` (SQLite's text for the code, `database is locked`) gives the primary code.
 * Undefined for any other error.
 */
export function decodeNodeSqliteError(error: unknown): DecodedSqliteError | undefined {
  if (!(error instanceof Error)) return undefined
  const { code, errcode, errstr } = error as { code?: unknown; errcode?: unknown; errstr?: unknown }
  if (code !== 'ERR_SQLITE_ERROR') return undefined
  if (typeof errcode === 'number') return { code: sqliteCodeName(errcode) }
  const named = typeof errstr === 'string' ? sqliteCodeFromMessage(errstr) : undefined
  return named === undefined ? undefined : { code: named }
}

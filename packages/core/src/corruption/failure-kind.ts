import { KanbanDbError } from '../errors/errors.js'
import { primaryCode, sqliteCodeOf } from '../errors/sqlite-codes.js'

/**
 * What kind of failure an error is, for a supervisor deciding what to do with a board:
 *
 * - `corruption`: the file looks damaged (`SQLITE_CORRUPT*`, `SQLITE_NOTADB`, a bad header magic).
 *   Confirm it with a fresh read before quarantining; never retry writes into it.
 * - `transient`: worth retrying as it is (`SQLITE_IOERR*`, `SQLITE_BUSY*`, `SQLITE_LOCKED*`,
 *   `SQLITE_FULL`, `SQLITE_CANTOPEN`, lock timeouts, a file replaced under the connection). Lock and
 *   busy errors are never corruption, whatever their message says.
 * - `other`: anything else (a bug, a refused operation). Reported, retried next time, never latched.
 */
export type FailureKind = 'corruption' | 'transient' | 'other'

const CORRUPTION_CODES = new Set(['CORRUPT', 'NOT_A_DATABASE'])
const TRANSIENT_CODES = new Set(['BUSY', 'TRANSIENT_IO', 'DISK_FULL', 'LOCK_TIMEOUT', 'GHOST_FILE', 'LOCKS_LOST', 'TRANSACTION_TIMEOUT', 'BOARD_CLOSED'])
const CORRUPTION_SQLITE = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB'])
const TRANSIENT_SQLITE = new Set([
  'SQLITE_IOERR', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL',
  'SQLITE_INTERRUPT', 'SQLITE_NOMEM',
])

/**
 * Classifies `error` as {@link FailureKind}. Looks at the kanban-db `code` first, then the SQLite
 * result code (from any driver), then follows `cause` a few levels for wrapped errors. The first
 * transient finding wins over a corruption finding deeper in the chain, so a `Busy` is never read
 * as corruption.
 */
export function classifyFailure(error: unknown): FailureKind {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth += 1) {
    const kind = kindOf(current)
    if (kind !== 'other') return kind
    current = (current as { cause?: unknown }).cause
  }
  return 'other'
}

/** True when `error` looks like corruption (see {@link classifyFailure}). */
export function isCorruptionError(error: unknown): boolean {
  return classifyFailure(error) === 'corruption'
}

/** True when `error` is worth retrying as it is (see {@link classifyFailure}). */
export function isTransientError(error: unknown): boolean {
  return classifyFailure(error) === 'transient'
}

function kindOf(error: unknown): FailureKind {
  if (KanbanDbError.isKanbanDbError(error)) {
    if (TRANSIENT_CODES.has(error.code)) return 'transient'
    if (CORRUPTION_CODES.has(error.code)) return 'corruption'
  }
  const sqliteCode = KanbanDbError.isKanbanDbError(error) ? error.sqliteCode ?? sqliteCodeOf(error.cause) : sqliteCodeOf(error)
  if (sqliteCode === undefined) return 'other'
  const primary = primaryCode(sqliteCode)
  // SQLITE_IOERR_CORRUPTFS is an I/O error reported by the filesystem: transient until a fresh read confirms damage.
  if (TRANSIENT_SQLITE.has(primary)) return 'transient'
  if (CORRUPTION_SQLITE.has(primary)) return 'corruption'
  return 'other'
}

import {
  Busy, Corrupt, DiskFull, KanbanDbError, NotADatabase, ReadOnlyBoard, SqliteFailure, TransientIO,
} from './errors.js'
import { primaryCode, sqliteCodeOf } from './sqlite-codes.js'

/**
 * Turns whatever a driver threw into a named kanban-db error, keeping the original as `cause`.
 * Kanban-db errors pass through unchanged; non-SQLite errors are returned as they are, so a bug in
 * a caller's callback is never disguised as a database problem. `doing` says what was attempted,
 * for the message ("claiming a task", "opening /x/board.db").
 */
export function classifySqliteError(error: unknown, doing: string): unknown {
  if (KanbanDbError.isKanbanDbError(error)) return error
  const sqliteCode = sqliteCodeOf(error)
  if (sqliteCode === undefined) return error
  const original = error instanceof Error ? error.message : String(error)
  const options = { cause: error, sqliteCode }
  switch (primaryCode(sqliteCode)) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new Busy(`The board was locked by another writer while ${doing} (${sqliteCode}: ${original}). Retry later; if it persists, look for a process holding a long write transaction.`, options)
    case 'SQLITE_IOERR':
      return new TransientIO(`A disk I/O error happened while ${doing} (${sqliteCode}: ${original}). The transaction was rolled back and the journal mode was left as it was. Retry; if it persists, check the disk and the kernel log.`, options)
    case 'SQLITE_FULL':
      return new DiskFull(`The disk is full while ${doing} (${sqliteCode}). Nothing that was acknowledged is lost. Free space on the board's filesystem, then retry.`, options)
    case 'SQLITE_CORRUPT':
      return new Corrupt(`SQLite reports the database as malformed while ${doing} (${sqliteCode}: ${original}). The file was left untouched: restore it from a backup (board.backupTo) or recover it with the sqlite3 shell's .recover.`, options)
    case 'SQLITE_NOTADB':
      return new NotADatabase(`The file is not a SQLite database (${sqliteCode}) while ${doing}. It was not initialised or changed: check the path.`, options)
    case 'SQLITE_READONLY':
      return new ReadOnlyBoard(
        `SQLite could not write while ${doing} (${sqliteCode}: ${original}): this process cannot write the board file, its -wal or -shm, ` +
          'or their directory (file permissions or owner, a read-only mount). Give this user write access to the file and its directory, ' +
          'or, to only read the board, open it with readonly: true. Nothing was written.',
        options,
      )
    default:
      return new SqliteFailure(`SQLite failed while ${doing} (${sqliteCode}: ${original}).`, options)
  }
}

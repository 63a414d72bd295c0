import {
  Busy, ConnectionLost, Corrupt, DiskFull, KanbanDbError, LockTimeout, PostgresFailure, ReadOnlyBoard, SchemaMismatch,
  StatementTimeout,
} from '@kanban-db/core'
import { constraintOf, isConnectionFailure, isServerError, sqlStateOf } from './sql-state.js'

/**
 * Turns what node-postgres or PGlite threw into kanban-db's named error, keeping the original as
 * `cause` and its SQLSTATE as `sqlState`. kanban-db errors pass through unchanged, and errors that
 * are not the database's (a bug in a write callback) are returned as they are, so they are never
 * disguised as a database problem. `doing` says what was attempted ("claiming a task").
 *
 * Serialization failures and deadlocks become `Busy`: the write path retries them itself and only
 * lets them out when its retry budget is spent (or from a nested write, whose outer write retries).
 */
export function classifyPostgresError(error: unknown, doing: string): unknown {
  if (KanbanDbError.isKanbanDbError(error)) return error
  if (isConnectionFailure(error)) {
    const sqlState = sqlStateOf(error)
    return new ConnectionLost(
      `The connection to the PostgreSQL server was lost while ${doing} (${describe(error)}). A transaction that was open was rolled back by the server, ` +
        'unless its COMMIT had already been sent: then it may have been applied. Check that the server is up; the next call opens a new connection.',
      { cause: error, sqlState },
    )
  }
  if (!isServerError(error)) return error
  const sqlState = error.code
  const options = { cause: error, sqlState, details: details(error) }
  const what = describe(error)
  switch (sqlState) {
    case '40001':
    case '40P01':
      return new Busy(
        `The write conflicted with a concurrent transaction while ${doing} (${what}). Nothing of it was kept. ` +
          'The write path retries such conflicts itself; seeing this means its retry budget ran out: retry later, or look for long transactions on the same rows.',
        options,
      )
    case '57014':
      return new StatementTimeout(
        `A statement was cancelled while ${doing} (${what}), by statement_timeout or a cancel request; nothing of it was applied. ` +
          'Retry; if it recurs, raise statementTimeoutMs or look for what holds the rows it waits for.',
        options,
      )
    case '55P03':
      return new LockTimeout(`A lock could not be taken in time while ${doing} (${what}). Nothing of it was applied; retry later.`, options)
    case '53100':
      return new DiskFull(`The database server's disk is full while ${doing} (${what}). Nothing of it was applied. Free space on the server, then retry.`, options)
    case '25006':
      return new ReadOnlyBoard(
        `The board is read-only while ${doing} (${what}): it was opened read-only, or the server is a read-only replica. Nothing was written; open it writable on a primary to write.`,
        options,
      )
    case 'XX001':
    case 'XX002':
      return new Corrupt(
        `The PostgreSQL server reports damaged data while ${doing} (${what}). Nothing was changed by kanban-db; restore from a backup or REINDEX, following the server's log.`,
        options,
      )
    case '42P01':
    case '3F000':
      return new SchemaMismatch(
        `The board's tables are missing while ${doing} (${what}): the schema was dropped or never created. Open the board once writable to create it.`,
        options,
      )
    default:
      return new PostgresFailure(`PostgreSQL failed while ${doing} (${what}).`, options)
  }
}

/** `SQLSTATE: message` for a server error, else the message. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const state = sqlStateOf(error)
  return state === undefined ? message : `${state}: ${message}`
}

/** Facts of a server error worth keeping in `details` (which constraint, which table). */
function details(error: unknown): Record<string, unknown> {
  const facts: Record<string, unknown> = {}
  const constraint = constraintOf(error)
  if (constraint !== undefined) facts['constraint'] = constraint
  if (isServerError(error) && error.table !== undefined) facts['table'] = error.table
  return facts
}

import { KanbanDbError } from '@kanban-db/core'

/**
 * Reading Postgres errors, whichever client raised them: node-postgres's `DatabaseError` and PGlite's
 * both carry the SQLSTATE in `code` and a `severity`; a kanban-db error made from one keeps the
 * SQLSTATE in `sqlState`.
 */

const SQLSTATE = /^[0-9A-Z]{5}$/

/** The SQLSTATE of a server error (or of the kanban-db error made from one), else undefined. */
export function sqlStateOf(error: unknown): string | undefined {
  if (KanbanDbError.isKanbanDbError(error)) return error.sqlState
  if (!isServerError(error)) return undefined
  return error.code
}

/** True for an error the database server sent (it has a SQLSTATE and a severity). */
export function isServerError(error: unknown): error is ServerError {
  if (typeof error !== 'object' || error === null) return false
  const { code, severity } = error as Record<string, unknown>
  return typeof code === 'string' && SQLSTATE.test(code) && typeof severity === 'string'
}

/** The fields of a server error the engine reads. */
export interface ServerError extends Error {
  readonly code: string
  readonly severity: string
  readonly constraint?: string
  readonly table?: string
  readonly detail?: string
}

/** The constraint a server error names (a unique violation's index), also through a kanban-db error. */
export function constraintOf(error: unknown): string | undefined {
  if (KanbanDbError.isKanbanDbError(error)) {
    const named = error.details['constraint']
    return typeof named === 'string' ? named : constraintOf(error.cause)
  }
  return isServerError(error) ? error.constraint : undefined
}

/** SQLSTATEs that mean the session is gone: admin shutdown, crash shutdown, cannot connect now. */
const CONNECTION_STATES = new Set(['57P01', '57P02', '57P03'])

/** Node socket error codes of a connection that failed or broke. */
const SOCKET_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EAI_AGAIN',
])

/**
 * node-postgres's messages for a connection that ended under a client (it raises plain `Error`s for
 * these, with no code).
 */
const LOST_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'connection timeout',
]

/**
 * True when the error says the connection to the server failed or was lost: SQLSTATE class 08,
 * 57P01-57P03, a socket error (`ECONNRESET`, a missing unix socket, ...), or node-postgres's
 * "Connection terminated" family.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (KanbanDbError.isKanbanDbError(error)) return error.code === 'CONNECTION_LOST'
  const state = sqlStateOf(error)
  if (state !== undefined) return state.startsWith('08') || CONNECTION_STATES.has(state)
  if (!(error instanceof Error)) return false
  const { code, syscall } = error as NodeJS.ErrnoException
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || (code === 'ENOENT' && syscall === 'connect'))) return true
  return LOST_MESSAGES.some((message) => error.message.startsWith(message))
}

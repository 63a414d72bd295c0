import type { SqliteAdapter, SqliteConnection } from '@kanban-db/core/adapter'

/**
 * Decides, for each statement script a connection is about to `exec`, whether it fails instead.
 * Return an error to throw it (the statement is then NOT run, as when SQLite refuses it), or
 * undefined to run the statement normally.
 */
export type ExecFault = (sql: string) => Error | undefined

/** An adapter whose connections consult a fault plan at the driver boundary, and how often it fired. */
export interface FaultyAdapter {
  readonly adapter: SqliteAdapter
  /** Arms a fault that fires on the next `exec` whose SQL matches, once. */
  armOnce(match: RegExp, error: () => Error): void
  /** How many faults have fired so far. */
  readonly fired: number
}

/**
 * Wraps `adapter` so that its connections' `exec` can be made to fail on chosen statements
 * (`ROLLBACK`, `COMMIT`, ...). Everything else passes straight through to the real driver and the
 * real file: fault injection at the driver boundary, never a replaced database.
 */
export function faultyAdapter(adapter: SqliteAdapter): FaultyAdapter {
  const armed: Array<{ match: RegExp; error: () => Error }> = []
  let fired = 0
  const fault: ExecFault = (sql) => {
    const index = armed.findIndex((entry) => entry.match.test(sql))
    if (index < 0) return undefined
    const [entry] = armed.splice(index, 1)
    fired += 1
    return entry!.error()
  }
  const wrapped: SqliteAdapter = {
    identity: adapter.identity,
    capabilities: adapter.capabilities,
    knownFailures: adapter.knownFailures,
    open: async (path, options) => wrapConnection(await adapter.open(path, options), fault),
    probeJournalMode: (connection) => adapter.probeJournalMode(connection),
    setPragma: (connection, name, value) => adapter.setPragma(connection, name, value),
    acquireLock: (lockPath, options) => adapter.acquireLock(lockPath, options),
  }
  return {
    adapter: wrapped,
    armOnce: (match, error) => armed.push({ match, error }),
    get fired() {
      return fired
    },
  }
}

function wrapConnection(connection: SqliteConnection, fault: ExecFault): SqliteConnection {
  return {
    get path() {
      return connection.path
    },
    get isOpen() {
      return connection.isOpen
    },
    get inTransaction() {
      return connection.inTransaction
    },
    prepare: (sql) => connection.prepare(sql),
    exec: (sql) => {
      const error = fault(sql)
      if (error) throw error
      connection.exec(sql)
    },
    backup: (destinationPath) => connection.backup(destinationPath),
    close: () => connection.close(),
  }
}

/** An error shaped like the drivers' SQLite errors (`code` as better-sqlite3 sets it, `errcode` as node:sqlite does). */
export function sqliteError(code: string, errcode: number, message: string): Error {
  return Object.assign(new Error(message), { code, errcode })
}

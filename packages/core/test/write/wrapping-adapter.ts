import type { SqliteAdapter } from '@kanban-db/core'
import type { SqliteConnection } from '@kanban-db/core/adapter'

/** What a test may do around one `exec` call of a wrapped connection. */
export type ExecHook = (sql: string, real: (sql: string) => void) => void

/**
 * Wraps a real adapter so that every connection it opens passes `exec` through `hook`: fault
 * injection at the driver boundary, never a fake database.
 */
export function wrapExec(adapter: SqliteAdapter, hook: ExecHook): SqliteAdapter {
  return {
    ...adapter,
    open: async (path, options) => wrapConnection(await adapter.open(path, options), hook),
    // The adapter's pragma hooks run statements on the connection they are given; hand them the real one.
    probeJournalMode: (connection) => adapter.probeJournalMode(unwrap(connection)),
    setPragma: (connection, name, value) => adapter.setPragma(unwrap(connection), name, value),
  }
}

const REAL = Symbol('real connection')

function wrapConnection(connection: SqliteConnection, hook: ExecHook): SqliteConnection {
  const real = (sql: string): void => connection.exec(sql)
  return new Proxy(connection, {
    get(target, property) {
      if (property === REAL) return target
      if (property === 'exec') return (sql: string) => hook(sql, real)
      const value = Reflect.get(target, property) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

function unwrap(connection: SqliteConnection): SqliteConnection {
  return ((connection as unknown as Record<symbol, SqliteConnection | undefined>)[REAL]) ?? connection
}

import type { SqliteAdapter } from '@kanban-db/core'
import type { SqliteConnection, SqliteStatement } from '@kanban-db/core/adapter'

/** What a test may do around one `exec` call of a wrapped connection. */
export type ExecHook = (sql: string, real: (sql: string) => void, connection: SqliteConnection) => void

/** What a test may put in place of a statement a wrapped connection prepares (the real one, or one wrapping it). */
export type PrepareHook = (sql: string, statement: SqliteStatement, connection: SqliteConnection) => SqliteStatement

/**
 * Wraps a real adapter so that every connection it opens passes `exec` and `prepare` through the
 * hooks given: fault injection at the driver boundary, never a fake database. The hooks see the
 * real connection (its `inTransaction`, say).
 */
export function wrapConnections(adapter: SqliteAdapter, hooks: { readonly exec?: ExecHook; readonly prepare?: PrepareHook }): SqliteAdapter {
  return {
    ...adapter,
    open: async (path, options) => wrapConnection(await adapter.open(path, options), hooks),
    // The adapter's pragma hooks run statements on the connection they are given; hand them the real one.
    probeJournalMode: (connection) => adapter.probeJournalMode(unwrap(connection)),
    setPragma: (connection, name, value) => adapter.setPragma(unwrap(connection), name, value),
  }
}

/** {@link wrapConnections} with an `exec` hook only. */
export function wrapExec(adapter: SqliteAdapter, hook: ExecHook): SqliteAdapter {
  return wrapConnections(adapter, { exec: hook })
}

/** `statement` with `before` run ahead of each `all` and `run` (to throw a fault, or count). */
export function statementWith(statement: SqliteStatement, before: () => void): SqliteStatement {
  return {
    get reader() {
      return statement.reader
    },
    all: (parameters) => (before(), statement.all(parameters)),
    run: (parameters) => (before(), statement.run(parameters)),
    finalize: () => statement.finalize(),
  }
}

const REAL = Symbol('real connection')

function wrapConnection(connection: SqliteConnection, hooks: { readonly exec?: ExecHook; readonly prepare?: PrepareHook }): SqliteConnection {
  const real = (sql: string): void => connection.exec(sql)
  const { exec, prepare } = hooks
  return new Proxy(connection, {
    get(target, property) {
      if (property === REAL) return target
      if (property === 'exec' && exec) return (sql: string) => exec(sql, real, target)
      if (property === 'prepare' && prepare) return (sql: string) => prepare(sql, target.prepare(sql), target)
      const value = Reflect.get(target, property) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}

function unwrap(connection: SqliteConnection): SqliteConnection {
  return ((connection as unknown as Record<symbol, SqliteConnection | undefined>)[REAL]) ?? connection
}

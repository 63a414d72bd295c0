import type { SqliteAdapter } from './sqlite-adapter.js'
import type { SqliteConnection, SqliteValue } from './sqlite-connection.js'

/**
 * The first column of the first row `sql` returns (undefined when it returns none). The statement
 * is finalized at once, so repeated reads (health checks, pragma verification) leak nothing, not
 * even in sql.js, whose statements live in WebAssembly memory until freed.
 */
export function readFirstValue(connection: SqliteConnection, sql: string): SqliteValue | undefined {
  const statement = connection.prepare(sql)
  try {
    const row = statement.all([])[0]
    return row === undefined ? undefined : Object.values(row)[0]
  } finally {
    statement.finalize()
  }
}

/**
 * The WAL probe and the pragma hook written in plain SQL, which is all the three bundled drivers
 * need. An adapter whose driver has a better way (a native pragma call) implements its own.
 */
export const sqlPragmaHooks: Pick<SqliteAdapter, 'probeJournalMode' | 'setPragma'> = Object.freeze({
  probeJournalMode(connection: SqliteConnection): string {
    return String(readFirstValue(connection, 'PRAGMA journal_mode')).toLowerCase()
  },
  setPragma(connection: SqliteConnection, name: string, value: string | number): string {
    connection.exec(`PRAGMA ${name} = ${value}`)
    return String(readFirstValue(connection, `PRAGMA ${name}`))
  },
})

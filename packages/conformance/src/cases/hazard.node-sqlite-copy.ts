import { createRequire } from 'node:module'
import type { SqliteAdapter, SqliteConnection, SqliteRow, SqliteValue } from '@kanban-db/core/adapter'

const require = createRequire(import.meta.url)

/** The SQLite copy compiled into this Node binary, named as `@kanban-db/adapter-node-sqlite` names it. */
export const NODE_SQLITE_COPY = `node:sqlite:${process.execPath}@${process.versions.node}`

/**
 * A second SQLite copy for the two-copies hazard, always present in the process: node:sqlite, built
 * into Node. A minimal adapter over `DatabaseSync` (the conformance package cannot depend on the
 * adapter packages), with node:sqlite's identity so the open policy can tell the copies apart.
 */
export function nodeSqliteCopy(): SqliteAdapter {
  const sqlite = require('node:sqlite') as typeof import('node:sqlite')
  const open = async (path: string): Promise<SqliteConnection> => {
    const database = new sqlite.DatabaseSync(path, { timeout: 5000 })
    return {
      path,
      get isOpen() {
        return database.isOpen
      },
      get inTransaction() {
        return database.isTransaction
      },
      prepare(sql) {
        const statement = database.prepare(sql)
        return {
          reader: statement.columns().length > 0,
          all: (parameters) => statement.all(...(parameters as SqliteValue[])) as SqliteRow[],
          run: (parameters) => {
            const { changes, lastInsertRowid } = statement.run(...(parameters as SqliteValue[]))
            return { changes: Number(changes), lastInsertRowid }
          },
          finalize: () => {},
        }
      },
      exec: (sql) => database.exec(sql),
      backup: async (destination) => {
        await sqlite.backup(database, destination)
      },
      close: () => {
        if (database.isOpen) database.close()
      },
    }
  }
  const read = (connection: SqliteConnection, sql: string) => String(Object.values(connection.prepare(sql).all([])[0] ?? {})[0])
  const probe = new sqlite.DatabaseSync(':memory:')
  const sqliteVersion = String((probe.prepare('select sqlite_version() as v').get() as { v: string }).v)
  probe.close()
  return {
    identity: { name: 'node:sqlite', moduleName: 'node:sqlite', driver: 'node:sqlite', driverVersion: process.versions.node, sqliteVersion, sqliteCopy: NODE_SQLITE_COPY },
    capabilities: { sharedFile: true, wal: true, crossProcessLock: false, onlineBackup: true, workerThreads: true },
    open,
    probeJournalMode: (connection) => read(connection, 'PRAGMA journal_mode').toLowerCase(),
    setPragma: (connection, name, value) => {
      connection.exec(`PRAGMA ${name} = ${value}`)
      return read(connection, `PRAGMA ${name}`)
    },
    acquireLock: () => Promise.reject(new Error('not used by the two-copies hazard')),
  }
}

import { sqliteCodeOf, type SqliteAdapter } from '@kanban-db/core/adapter'

/**
 * Opens `path` with a raw connection and tries `BEGIN IMMEDIATE` once without waiting
 * (`busy_timeout = 0`). Returns `{ acquired: true }` (and rolls back) or `{ acquired: false, code }`
 * with SQLite's code. A read first proves the file is readable while another process writes.
 */
export async function tryWriteLock(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  const connection = await adapter.open(String(args.path))
  try {
    connection.exec('PRAGMA busy_timeout = 0')
    const tasks = Number(Object.values(connection.prepare('select count(*) as n from tasks').all([])[0] ?? {})[0] ?? -1)
    try {
      connection.exec('BEGIN IMMEDIATE')
    } catch (error) {
      return { acquired: false, code: sqliteCodeOf(error) ?? String(error), tasks }
    }
    connection.exec('ROLLBACK')
    return { acquired: true, tasks }
  } finally {
    connection.close()
  }
}

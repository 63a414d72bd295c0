import type { SqliteAdapter } from '@kanban-db/core/adapter'

/**
 * A fresh process's view of a board: opens `path` without creating it, returns the names in
 * `items`, `PRAGMA journal_mode` and `integrity_check`, or `{ error }` when SQLite cannot read it
 * (a damaged board is a result here, not a crash).
 */
export async function hygieneReadBoard(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  try {
    const connection = await adapter.open(String(args.path), { create: false })
    try {
      adapter.setPragma(connection, 'busy_timeout', 10_000)
      const names = connection.prepare('SELECT name FROM items ORDER BY id').all([]).map((row) => String(row.name))
      const journalMode = adapter.probeJournalMode(connection)
      const integrity = connection.prepare('PRAGMA integrity_check').all([]).map((row) => String(Object.values(row)[0]))
      return { names, journalMode, integrity }
    } finally {
      connection.close()
    }
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }
  }
}

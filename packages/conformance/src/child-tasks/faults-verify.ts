import type { SqliteAdapter, SqliteConnection } from '@kanban-db/core/adapter'

/**
 * Reads a board the way a fresh process sees it, through SQLite only: every `column` of `table`
 * (default `label` of `items`),
 * `PRAGMA integrity_check`, the journal mode a fresh connection reports, and the header's
 * write/read version bytes 18/19 (2 = WAL, 1 = legacy) through `sqlite_dbpage` where the build has
 * it (null otherwise).
 */
export async function faultsVerify(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  const connection = await adapter.open(String(args.path))
  try {
    const headerVersions = readHeaderVersions(connection)
    const journalMode = String(Object.values(connection.prepare('PRAGMA journal_mode').all([])[0] ?? {})[0]).toLowerCase()
    const table = String(args.table ?? 'items')
    const column = String(args.column ?? 'label')
    const labels = connection.prepare(`select ${column} as v from ${table} order by rowid`).all([]).map((row) => String(row.v))
    const integrity = connection.prepare('PRAGMA integrity_check').all([]).map((row) => String(Object.values(row)[0]))
    return { pid: process.pid, journalMode, headerVersions, labels, integrity }
  } finally {
    connection.close()
  }
}

function readHeaderVersions(connection: SqliteConnection): [number, number] | null {
  try {
    const row = connection.prepare("select hex(substr(data, 19, 2)) as v from sqlite_dbpage where pgno = 1").all([])[0]
    const hex = String(row?.v ?? '')
    return hex.length === 4 ? [parseInt(hex.slice(0, 2), 16), parseInt(hex.slice(2, 4), 16)] : null
  } catch {
    return null // this build has no sqlite_dbpage
  }
}

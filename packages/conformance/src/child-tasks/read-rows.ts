import type { SqliteAdapter } from '@kanban-db/core/adapter'

/** Opens `path` read-only, returns every row of `table` and `PRAGMA integrity_check`. */
export async function readRows(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  const connection = await adapter.open(String(args.path), { readonly: true })
  try {
    const rows = connection.prepare(`select * from ${String(args.table)} order by rowid`).all([])
    const integrity = connection.prepare('PRAGMA integrity_check').all([])
    return { rows, integrity: integrity.map((row) => Object.values(row)[0]) }
  } finally {
    connection.close()
  }
}

import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'

/**
 * The "other process" of the hygiene hazards: opens `path` (a board in WAL mode) with the raw
 * adapter, sets busy_timeout, inserts `count` rows named `${prefix}-<i>` into `items`, one
 * transaction each, and closes (the close is what may unlink sidecars another process still uses).
 * With `signalAfter: n` it sends `{ committed: n }` after its n-th commit and keeps writing, so the
 * parent can act while this process is mid-load. Returns the names it committed.
 */
export async function hygieneWriteRows(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const connection = await adapter.open(String(args.path), { create: false })
  const names: string[] = []
  try {
    adapter.setPragma(connection, 'busy_timeout', 10_000)
    const insert = connection.prepare('INSERT INTO items (name) VALUES (?)')
    for (let index = 0; index < Number(args.count ?? 1); index += 1) {
      const name = `${String(args.prefix ?? 'child')}-${index}`
      connection.exec('BEGIN IMMEDIATE')
      insert.run([name])
      connection.exec('COMMIT')
      names.push(name)
      if (names.length === Number(args.signalAfter)) await channel.send({ committed: names.length })
    }
  } finally {
    connection.close()
  }
  return { names }
}

// ESM: each SQLite adapter through the package names a user imports, on Node 24.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openBoard, KanbanDbError, UnsupportedRuntime } from '@kanban-db/core'
import createBetterSqlite3Adapter from '@kanban-db/adapter-better-sqlite3'
import { createAdapter as createNodeSqliteAdapter } from '@kanban-db/adapter-node-sqlite'
import { createAdapter as createSqlJsAdapter } from '@kanban-db/adapter-sql-js'
import { postgres, pglite } from '@kanban-db/adapter-postgres'

const statuses = {}
for (const [name, createAdapter] of [['better-sqlite3', createBetterSqlite3Adapter], ['node:sqlite', createNodeSqliteAdapter], ['sql.js', createSqlJsAdapter]]) {
  const board = await openBoard({ path: join(mkdtempSync(join(tmpdir(), 'kanban-esm-')), 'board.db'), adapter: await createAdapter() })
  const task = await board.createTask({ title: 'Write the release notes' })
  const claimed = await board.claimNext({ workerId: 'worker-1', leaseMs: 60_000 })
  if (claimed) await board.complete(claimed.id, claimed.claimToken, { ok: true })
  statuses[name] = (await board.getTask(task.id))?.status
  await board.close()
}
console.log(JSON.stringify({
  statuses,
  errorsAreNamed: typeof KanbanDbError.isKanbanDbError === 'function' && new UnsupportedRuntime('x').code,
  postgres: typeof postgres === 'function' && typeof pglite === 'function',
}))

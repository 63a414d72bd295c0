// The adapters' README example, type-checked with --strict under node16, nodenext and bundler resolution.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KanbanDbError, openBoard, type TaskStatus } from '@kanban-db/core'
import createAdapter from '@kanban-db/adapter-better-sqlite3'
import { createAdapter as createNodeSqliteAdapter } from '@kanban-db/adapter-node-sqlite'
import { createAdapter as createSqlJsAdapter } from '@kanban-db/adapter-sql-js'
import { pglite, postgres } from '@kanban-db/adapter-postgres'

export async function example(): Promise<TaskStatus | undefined> {
  const board = await openBoard({
    path: join(mkdtempSync(join(tmpdir(), 'kanban-')), 'board.db'),
    adapter: await createAdapter(),
  })
  const task = await board.createTask({ title: 'Write the release notes' })
  const claimed = await board.claimNext({ workerId: 'worker-1', leaseMs: 60_000 })
  if (claimed) await board.complete(claimed.id, claimed.claimToken, { ok: true })
  const status = (await board.getTask(task.id))?.status
  // board.db: Kysely over the board's tables, with each column's own type.
  const rows = await board.db.selectFrom('tasks').select(['id', 'status']).execute()
  const statuses: TaskStatus[] = rows.map((row) => row.status)
  console.log(status, statuses)
  await board.close()
  return status
}

export async function otherAdapters(): Promise<void> {
  for (const adapter of [await createNodeSqliteAdapter(), await createSqlJsAdapter()]) console.log(adapter.identity.name)
}

export function codeOf(error: unknown): string | undefined {
  return KanbanDbError.isKanbanDbError(error) ? error.code : undefined
}

export function postgresBoards(connectionString: string) {
  return { server: postgres({ connectionString }), inProcess: pglite() }
}

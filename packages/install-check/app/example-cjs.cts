// CommonJS consumers (a .cts file): the same through require's types (index.d.cts).
import core = require('@kanban-db/core')
import betterSqlite3 = require('@kanban-db/adapter-better-sqlite3')
import nodeSqlite = require('@kanban-db/adapter-node-sqlite')

export async function example(path: string): Promise<core.TaskStatus | undefined> {
  const board = await core.openBoard({ path, adapter: await betterSqlite3.createAdapter() })
  const task = await board.createTask({ title: 'Write the release notes' })
  const viaDefault = await nodeSqlite.default()
  console.log(viaDefault.identity.name)
  const status = (await board.getTask(task.id))?.status
  await board.close()
  return status
}

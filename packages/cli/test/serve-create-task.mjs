// A separate process that writes to the same board as the live board's server: it opens the board
// named on its command line (a SQLite file or a Postgres schema) and creates one task.
// Usage: node serve-create-task.mjs '<board target as JSON>' '<title>'
import { openBoard } from '@kanban-db/core'

const [targetJson, title] = process.argv.slice(2)
const target = JSON.parse(targetJson)
let board
if (target.engine === 'postgres') {
  const { postgres } = await import('@kanban-db/adapter-postgres')
  board = await openBoard({ engine: postgres({ connectionString: target.connectionString, schema: target.schema, poolSize: 1 }) })
} else {
  const { createAdapter } = await import('@kanban-db/adapter-better-sqlite3')
  board = await openBoard({ path: target.path, adapter: await createAdapter() })
}
const task = await board.createTask({ title })
await board.close()
process.stdout.write(JSON.stringify({ id: task.id, status: task.status, pid: process.pid }) + '\n')

// CommonJS: the same through require(), on Node 24.
const { mkdtempSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { openBoard } = require('@kanban-db/core')
const { createAdapter } = require('@kanban-db/adapter-better-sqlite3')
const nodeSqlite = require('@kanban-db/adapter-node-sqlite')
const sqlJs = require('@kanban-db/adapter-sql-js')
const { postgres } = require('@kanban-db/adapter-postgres')

async function main() {
  const statuses = {}
  for (const [name, create] of [['better-sqlite3', createAdapter], ['node:sqlite', nodeSqlite.createAdapter], ['sql.js', sqlJs.default]]) {
    const board = await openBoard({ path: join(mkdtempSync(join(tmpdir(), 'kanban-cjs-')), 'board.db'), adapter: await create() })
    const task = await board.createTask({ title: 'Write the release notes' })
    const claimed = await board.claimNext({ workerId: 'worker-1', leaseMs: 60_000 })
    if (claimed) await board.complete(claimed.id, claimed.claimToken, { ok: true })
    statuses[name] = (await board.getTask(task.id))?.status
    await board.close()
  }
  const exportsOf = (name) => Object.keys(require(name)).sort()
  console.log(JSON.stringify({
    statuses,
    betterSqlite3Exports: exportsOf('@kanban-db/adapter-better-sqlite3'),
    nodeSqliteExports: exportsOf('@kanban-db/adapter-node-sqlite'),
    postgres: typeof postgres === 'function',
  }))
}
main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})

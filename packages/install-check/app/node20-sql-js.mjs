// On Node 20: the sql.js adapter takes its cross-process lock through node:sqlite, which Node 20 lacks.
import createAdapter from '@kanban-db/adapter-sql-js'

await createAdapter()
console.log('no error')

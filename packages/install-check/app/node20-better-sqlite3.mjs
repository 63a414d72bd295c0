// On Node 20: the adapter must refuse with UnsupportedRuntime before better-sqlite3 is touched.
import createAdapter from '@kanban-db/adapter-better-sqlite3'

await createAdapter()
console.log('no error')

// On Node 20, through require(): node:sqlite is missing, and the advice must not lead into a crash.
const { createAdapter } = require('@kanban-db/adapter-node-sqlite')

createAdapter().then(() => console.log('no error'))

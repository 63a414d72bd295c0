// The control: better-sqlite3 13 used directly on Node 20 (what the guard keeps the adapter from doing).
const Database = require('better-sqlite3')

new Database(':memory:').prepare('select 1').get()
console.log('no crash')

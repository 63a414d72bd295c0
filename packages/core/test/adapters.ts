import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import createNodeSqlite from '@kanban-db/adapter-node-sqlite'
import createSqlJs from '@kanban-db/adapter-sql-js'
import type { SqliteAdapter } from '@kanban-db/core'

/** The three bundled adapters, for core tests that run against every one of them. */
export const bundledAdapters: ReadonlyArray<{ readonly name: string; readonly create: () => Promise<SqliteAdapter> }> = [
  { name: 'better-sqlite3', create: () => createBetterSqlite3() },
  { name: 'node:sqlite', create: () => createNodeSqlite() },
  { name: 'sql.js', create: () => createSqlJs() },
]

import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import createNodeSqlite from '@kanban-db/adapter-node-sqlite'
import createSqlJs from '@kanban-db/adapter-sql-js'
import type { SqliteAdapter } from '@kanban-db/core'
import { engineSubjects, type EngineSubject } from './engines.js'

/** The three bundled adapters, for core tests that run against every one of them. */
export const bundledAdapters: ReadonlyArray<{ readonly name: string; readonly create: () => Promise<SqliteAdapter> }> = [
  { name: 'better-sqlite3', create: () => createBetterSqlite3() },
  { name: 'node:sqlite', create: () => createNodeSqlite() },
  { name: 'sql.js', create: () => createSqlJs() },
]

/**
 * Every engine a board runs on, for the tests of the board's semantics: the three SQLite adapters,
 * PGlite, and a Postgres server when one is reachable (`skip` says why not).
 */
export const boardSubjects: ReadonlyArray<{
  readonly name: string
  readonly engine: 'sqlite' | 'postgres'
  readonly create: () => Promise<SqliteAdapter | EngineSubject>
  readonly skip?: string
}> = [...bundledAdapters.map((adapter) => ({ ...adapter, engine: 'sqlite' as const })), ...engineSubjects.map((subject) => ({ ...subject, engine: 'postgres' as const }))]

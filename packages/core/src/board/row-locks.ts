import { PostgresAdapter, sql, type Kysely } from 'kysely'
import type { BoardSchema } from '../schema/board-schema.js'

// Row locks, where the SQL dialect has them.
//
// On SQLite a write transaction (BEGIN IMMEDIATE) excludes every other writer, so an operation may
// read a task and then write it. On PostgreSQL writers of many processes run at the same time under
// READ COMMITTED, and each statement sees what was committed when it started: an operation must
// lock the rows it decides about before it reads them, and a claim skips the rows other claimers
// hold. The lock is `FOR NO KEY UPDATE` (the board never changes a row's key): it excludes other
// writers of the row but not the key-share locks that foreign-key checks take when runs, events,
// comments and dependencies of the task are inserted. These helpers add the clause only where the
// dialect is Postgres's (a server or PGlite), and leave SQLite's statements as they were.

/** True when `db` speaks PostgreSQL's SQL: rows must be locked before an operation decides on them. */
export function locksRows(db: Kysely<BoardSchema>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter
}

/** A query that can lock the rows it reads. */
interface Lockable<Q> {
  forNoKeyUpdate(): Q
}

/** `query FOR NO KEY UPDATE` where rows are locked (the caller waits for a writer that holds them). */
export function forUpdate<Q extends Lockable<Q>>(db: Kysely<BoardSchema>, query: Q): Q {
  return locksRows(db) ? query.forNoKeyUpdate() : query
}

/** `query FOR NO KEY UPDATE SKIP LOCKED` where rows are locked: claimers pass over each other's rows. */
export function forUpdateSkipLocked<Q extends Lockable<Q & { skipLocked(): Q }>>(db: Kysely<BoardSchema>, query: Q): Q {
  return locksRows(db) ? query.forNoKeyUpdate().skipLocked() : query
}

/**
 * Serialises changes of the dependency graph in the caller's transaction. Row locks on the two
 * tasks of a new edge do not stop two edges that close a cycle through other tasks from being
 * added at once (each transaction checks the graph without the other's edge), so additions wait
 * for each other here. The lock is held until the transaction ends; SQLite needs none.
 */
export async function lockDependencyGraph(trx: Kysely<BoardSchema>): Promise<void> {
  if (!locksRows(trx)) return
  // Keyed (dependency graph, schema): the reverse of named locks' (schema, name), so no lock name can
  // collide with it.
  await sql`SELECT pg_advisory_xact_lock(hashtext('kanban_db.task_dependencies'), hashtext(current_schema()))`.execute(trx)
}

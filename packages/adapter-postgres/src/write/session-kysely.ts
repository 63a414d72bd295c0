import {
  type CompiledQuery, type DatabaseConnection, type Driver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type QueryResult,
} from 'kysely'

/** Runs one compiled statement on a session and returns its result in Kysely's shape. */
export type RunStatement = (sql: string, parameters: readonly unknown[]) => Promise<QueryResult<unknown>>

/**
 * A Kysely bound to ONE database session that a write transaction already opened (a checked-out
 * node-postgres client, or the handle of a PGlite transaction). It only runs statements: BEGIN,
 * COMMIT, ROLLBACK and savepoints belong to the write path, so `transaction()` on it is refused.
 */
export function sessionKysely<DB>(run: RunStatement): Kysely<DB> {
  return new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new SessionDriver(run),
      createQueryCompiler: () => new PostgresQueryCompiler(),
      createIntrospector: (db) => new PostgresIntrospector(db),
    },
  })
}

/** Kysely's driver over {@link RunStatement}: one connection, never pooled, never closed by Kysely. */
class SessionDriver implements Driver {
  readonly #connection: DatabaseConnection

  constructor(run: RunStatement) {
    this.#connection = {
      executeQuery: <R>(query: CompiledQuery) => run(query.sql, query.parameters) as Promise<QueryResult<R>>,
      streamQuery: () => {
        throw new Error('Streaming is not supported inside a kanban-db write transaction; select in pages instead.')
      },
    }
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.#connection
  }

  async beginTransaction(): Promise<void> {
    throw new Error('A kanban-db write transaction is already open on this connection; nest writes with engine.writeTxn instead.')
  }

  async commitTransaction(): Promise<void> {
    throw new Error('The write path commits its own transaction.')
  }

  async rollbackTransaction(): Promise<void> {
    throw new Error('The write path rolls back its own transaction.')
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {}
}

/** node-postgres's result as Kysely wants it (as Kysely's own PostgresDriver maps it). */
export function fromPgResult(result: { command: string; rowCount: number | null; rows: unknown[] }): QueryResult<unknown> {
  const counted = result.command === 'INSERT' || result.command === 'UPDATE' || result.command === 'DELETE' || result.command === 'MERGE'
  return counted ? { rows: result.rows ?? [], numAffectedRows: BigInt(result.rowCount ?? 0) } : { rows: result.rows ?? [] }
}

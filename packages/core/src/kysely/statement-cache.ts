import type { SqliteConnection, SqliteStatement } from '../adapter/sqlite-connection.js'

/**
 * Prepared statements by SQL text, least recently used evicted first. Kysely's own SQLite driver
 * prepares every query anew; the board's hot queries are few and repeat, so reuse pays.
 */
export class StatementCache {
  readonly #statements = new Map<string, SqliteStatement>()

  constructor(
    private readonly connection: SqliteConnection,
    private readonly capacity = 256,
  ) {}

  /** The cached statement for `sql`, prepared on first use. */
  get(sql: string): SqliteStatement {
    const cached = this.#statements.get(sql)
    if (cached) {
      this.#statements.delete(sql)
      this.#statements.set(sql, cached)
      return cached
    }
    const statement = this.connection.prepare(sql)
    this.#statements.set(sql, statement)
    if (this.#statements.size > this.capacity) {
      const [oldestSql, oldest] = this.#statements.entries().next().value as [string, SqliteStatement]
      this.#statements.delete(oldestSql)
      oldest.finalize()
    }
    return statement
  }

  /** Finalizes every cached statement (before the connection closes). */
  clear(): void {
    for (const statement of this.#statements.values()) statement.finalize()
    this.#statements.clear()
  }
}

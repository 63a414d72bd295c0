import type { CompiledQuery, DatabaseConnection, Driver, QueryResult } from 'kysely'
import type { SqliteConnection, SqliteValue } from '../adapter/sqlite-connection.js'
import { retryReadStart } from '../hygiene/read-start-retry.js'
import { StatementCache } from './statement-cache.js'

/**
 * A Kysely driver over one {@link SqliteConnection}. Like Kysely's own SQLite driver it hands out
 * its single connection to one holder at a time (a transaction, or one query), but it reuses
 * prepared statements and starts transactions with `BEGIN IMMEDIATE`: a deferred transaction that
 * later writes fails at once with SQLITE_BUSY instead of waiting (see sqlite-wal-facts.md §4).
 */
export class ConnectionDriver implements Driver {
  readonly #connection: SqliteConnection
  readonly #statements: StatementCache
  readonly #mutex = new ConnectionMutex()
  readonly #databaseConnection: StatementConnection

  constructor(connection: SqliteConnection) {
    this.#connection = connection
    this.#statements = new StatementCache(connection)
    this.#databaseConnection = new StatementConnection(connection, this.#statements)
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock()
    return this.#databaseConnection
  }

  async beginTransaction(): Promise<void> {
    this.#connection.exec('BEGIN IMMEDIATE')
  }

  async commitTransaction(): Promise<void> {
    this.#connection.exec('COMMIT')
  }

  async rollbackTransaction(): Promise<void> {
    this.#connection.exec('ROLLBACK')
  }

  async savepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#connection.exec(`SAVEPOINT ${quoteName(name)}`)
  }

  async rollbackToSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#connection.exec(`ROLLBACK TO ${quoteName(name)}`)
  }

  async releaseSavepoint(_connection: DatabaseConnection, name: string): Promise<void> {
    this.#connection.exec(`RELEASE ${quoteName(name)}`)
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock()
  }

  /** Finalizes cached statements. The connection itself belongs to the board, which closes it. */
  async destroy(): Promise<void> {
    this.#statements.clear()
  }
}

class StatementConnection implements DatabaseConnection {
  constructor(
    private readonly connection: SqliteConnection,
    private readonly statements: StatementCache,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.statements.get(query.sql)
    const parameters = query.parameters as readonly SqliteValue[]
    if (statement.reader) {
      try {
        return { rows: statement.all(parameters) as R[] }
      } catch (error) {
        return { rows: retryReadStart(this.connection, error, () => statement.all(parameters)) as R[] }
      }
    }
    let result: ReturnType<typeof statement.run>
    try {
      result = statement.run(parameters)
    } catch (error) {
      result = retryReadStart(this.connection, error, () => statement.run(parameters))
    }
    const { changes, lastInsertRowid } = result
    return {
      rows: [],
      numAffectedRows: BigInt(changes),
      insertId: lastInsertRowid === undefined ? undefined : BigInt(lastInsertRowid),
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    // Unfinished iterators pin a WAL snapshot and stop checkpoints (sqlite-wal-facts.md §5).
    throw new Error('kanban-db does not stream queries: an unfinished iterator pins the WAL. Use execute().')
  }
}

class ConnectionMutex {
  #held = false
  readonly #waiters: Array<() => void> = []

  async lock(): Promise<void> {
    if (!this.#held) {
      this.#held = true
      return
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  unlock(): void {
    const next = this.#waiters.shift()
    if (next) next()
    else this.#held = false
  }
}

function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

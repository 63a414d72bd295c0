/** A value SQLite can bind or return. */
export type SqliteValue = string | number | bigint | Uint8Array | null

/** A row as returned by a reader statement: column name to value. */
export type SqliteRow = Record<string, SqliteValue>

/** What a writing statement reports. */
export interface RunResult {
  /** Rows changed by the statement (`sqlite3_changes`). */
  readonly changes: number
  /** Rowid of the last inserted row (`sqlite3_last_insert_rowid`). */
  readonly lastInsertRowid: number | bigint
}

/**
 * One compiled statement. Core caches statements per connection, so an adapter must allow the
 * same statement to be run many times with different parameters, also after a run that threw (reset
 * it after an error, if the driver does not).
 */
export interface SqliteStatement {
  /** True when the statement returns rows (a SELECT, or anything with RETURNING). Core calls `all` on these, `run` on the others. */
  readonly reader: boolean
  /** Runs the statement with positional parameters to the end (a `RETURNING` write included) and returns every row. */
  all(parameters: readonly SqliteValue[]): SqliteRow[]
  /** Runs a statement without result columns with positional parameters, for its effect. */
  run(parameters: readonly SqliteValue[]): RunResult
  /** Frees the statement. Core calls it when it evicts the statement from its cache. */
  finalize(): void
}

/**
 * One open connection to one database, synchronous like the drivers it wraps. An adapter wraps its
 * driver's connection in this shape and adds nothing else: semantics (transactions, retries,
 * pragmas, hygiene) live in core.
 */
export interface SqliteConnection {
  /** The path the connection was opened with (absolute), or `:memory:`. */
  readonly path: string
  /** True while the connection is open. */
  readonly isOpen: boolean
  /** True while a transaction is open on this connection (`sqlite3_get_autocommit() == 0`). */
  readonly inTransaction: boolean
  /** Compiles one statement. */
  prepare(sql: string): SqliteStatement
  /** Runs a script of statements that take no parameters. */
  exec(sql: string): void
  /**
   * Copies the whole database to `destinationPath` while other connections may keep writing, through
   * the driver's online backup API or `VACUUM INTO`. Only where the adapter declares `onlineBackup`.
   */
  backup(destinationPath: string): Promise<void>
  /**
   * Closes the connection and, before returning, frees its file descriptors, its POSIX locks and
   * (for the last connection to the file) the sidecars SQLite removes at close. Closing twice is a
   * no-op.
   */
  close(): void
}

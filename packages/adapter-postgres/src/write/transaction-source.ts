import type { Kysely } from 'kysely'
import type { BoardSchema } from '@kanban-db/core/adapter'

/**
 * Where write transactions come from: a node-postgres pool (`server/pool-transactions.ts`) or a
 * PGlite instance (`pglite/pglite-transactions.ts`). The write path above it (`write-path.ts`) owns
 * what is common: timeouts, retries, nesting.
 */
export interface TransactionSource {
  /**
   * Opens a READ COMMITTED transaction on one session, runs `body`, and commits; if `body` throws,
   * rolls back and rethrows. Errors are the driver's own (unclassified). When the transaction
   * failed because of an earlier statement error the callback swallowed (the transaction was
   * aborted), that earlier error is what is thrown. `priority` asks for the reserved connections.
   */
  run<T>(body: (session: WriteSession) => Promise<T>, priority: boolean): Promise<T>
}

/** The session of one open write transaction. */
export interface WriteSession {
  /** A Kysely bound to this transaction's session (unguarded: the write path adds the guard). */
  readonly db: Kysely<BoardSchema>
  /** Runs a control statement (SAVEPOINT, ROLLBACK TO, RELEASE) in the transaction. */
  exec(sql: string): Promise<void>
  /** After ROLLBACK TO SAVEPOINT succeeded: the transaction is healthy again, forget the error that aborted it. */
  recovered(): void
  /**
   * Cancels the statement the callback is running, if any (the callback timed out and the
   * transaction must roll back now, not when a lock wait ends).
   */
  cancelRunningStatement(): Promise<void>
}

import type { Kysely } from 'kysely'
import { TransactionTimeout } from '@kanban-db/core'
import { type BoardSchema } from '@kanban-db/core/adapter'
import { pgliteNumberParsers } from '../number-types.js'
import { sqlStateOf } from '../sql-state.js'
import { sessionKysely } from '../write/session-kysely.js'
import type { TransactionSource, WriteSession } from '../write/transaction-source.js'
import type { PgliteInstance, PgliteTransaction } from './pglite-instance.js'

/**
 * Write transactions on PGlite. PGlite is one session in this process: `transaction()` holds its
 * transaction lock, so writes are serialized in-process, in call order, and reads through the
 * engine's `db` wait for the open write instead of seeing it half done. `priority` changes nothing
 * (there is no pool to jump); PGlite's BEGIN is READ COMMITTED, Postgres's default.
 */
export class PgliteTransactions implements TransactionSource {
  readonly #instance: PgliteInstance
  /** The transaction the one Kysely below runs on; PGlite has at most one at a time. */
  #current: PgliteTransaction | undefined
  /** The first error of the open transaction (Postgres aborts the transaction at any error). */
  #abortCause: unknown = undefined
  readonly #db: Kysely<BoardSchema>

  constructor(instance: PgliteInstance) {
    this.#instance = instance
    this.#db = sessionKysely<BoardSchema>(async (sql, parameters) => {
      const result = await this.#statement(sql, parameters)
      // As Kysely's own PGlite driver maps it.
      return result.affectedRows == null ? { rows: result.rows } : { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) }
    })
  }

  async run<T>(body: (session: WriteSession) => Promise<T>, _priority: boolean): Promise<T> {
    try {
      return await this.#instance.transaction(async (tx) => {
        this.#current = tx
        this.#abortCause = undefined
        const session = new PgliteSession(this)
        try {
          return await body(session)
        } finally {
          session.end()
          this.#current = undefined
        }
      })
    } catch (error) {
      // On "transaction is aborted" (also PGlite's answer to COMMIT of an aborted transaction),
      // report the statement error that aborted it.
      throw sqlStateOf(error) === '25P02' && this.#abortCause !== undefined ? this.#abortCause : error
    }
  }

  get db(): Kysely<BoardSchema> {
    return this.#db
  }

  /** Runs one statement in the open transaction, noting the error that aborts it. */
  async #statement(sql: string, parameters: readonly unknown[]) {
    const tx = this.#current
    if (!tx) throw new TransactionTimeout('This write transaction is over; its statement was refused. Nothing was written.')
    try {
      return await tx.query<unknown>(sql, parameters as unknown[], { rowMode: 'object', parsers: { ...pgliteNumberParsers } })
    } catch (error) {
      if (sqlStateOf(error) !== '25P02') this.#abortCause ??= error
      throw error
    }
  }

  /** Runs a control statement (savepoints) in the open transaction. */
  async exec(sql: string): Promise<void> {
    await this.#statement(sql, [])
  }

  /** A savepoint rollback made the transaction healthy again. */
  recovered(): void {
    this.#abortCause = undefined
  }
}

/** The session of one PGlite transaction; refuses statements once it is over. */
class PgliteSession implements WriteSession {
  readonly #transactions: PgliteTransactions
  #ended = false

  constructor(transactions: PgliteTransactions) {
    this.#transactions = transactions
  }

  get db(): Kysely<BoardSchema> {
    return this.#transactions.db
  }

  async exec(sql: string): Promise<void> {
    if (this.#ended) throw new TransactionTimeout('This write transaction is over; its savepoint statement was refused. Nothing was written.')
    await this.#transactions.exec(sql)
  }

  recovered(): void {
    this.#transactions.recovered()
  }

  async cancelRunningStatement(): Promise<void> {
    // PGlite runs one statement at a time to its end inside this process; there is nothing to cancel.
  }

  end(): void {
    this.#ended = true
  }
}

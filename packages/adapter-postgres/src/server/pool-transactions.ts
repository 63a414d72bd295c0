import { statementFor } from './statement-names.js'
import type pg from 'pg'
import type { Kysely } from 'kysely'
import { ConnectionLost, TransactionTimeout } from '@kanban-db/core'
import { type BoardSchema } from '@kanban-db/core/adapter'
import { isConnectionFailure, sqlStateOf } from '../sql-state.js'
import { fromPgResult, sessionKysely } from '../write/session-kysely.js'
import type { TransactionSource, WriteSession } from '../write/transaction-source.js'

/**
 * Write transactions on node-postgres pools: each runs on a client checked out of the main pool
 * (or, for `priority`, of the small reserved pool, so a heartbeat never queues behind the main
 * pool's waiters), from `BEGIN ISOLATION LEVEL READ COMMITTED` to COMMIT or ROLLBACK, and the client
 * goes back to its pool (or is discarded when its connection broke, so the pool recovers).
 */
export class PoolTransactions implements TransactionSource {
  readonly #main: pg.Pool
  readonly #priority: pg.Pool
  /** One Kysely and statement bookkeeping per physical connection, made on its first write. */
  readonly #clients = new WeakMap<pg.PoolClient, ClientState>()

  constructor(main: pg.Pool, priority: pg.Pool) {
    this.#main = main
    this.#priority = priority
  }

  async run<T>(body: (session: WriteSession) => Promise<T>, priority: boolean): Promise<T> {
    const client = await this.#begin(priority ? this.#priority : this.#main)
    const state = this.#stateOf(client)
    const session = new PoolSession(client, state, (pid) => this.#cancel(pid))
    let value: T
    try {
      value = await body(session)
    } catch (error) {
      session.end()
      await rollBack(client)
      throw state.whyAborted(error)
    }
    session.end()
    await commit(client, state)
    return value
  }

  /**
   * A client in an open READ COMMITTED transaction. A pooled connection that died while idle (a
   * server restart the pool has not noticed yet) fails its BEGIN; nothing of the write was sent, so
   * the client is discarded and another tried: at most every client the pool had, plus a new one.
   */
  async #begin(pool: pg.Pool): Promise<pg.PoolClient> {
    const tries = pool.totalCount + 1
    for (let tried = 1; ; tried++) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN ISOLATION LEVEL READ COMMITTED')
        this.#stateOf(client).reset()
        return client
      } catch (error) {
        client.release(asError(error))
        if (!isConnectionFailure(error) || tried >= tries) throw error
      }
    }
  }

  #stateOf(client: pg.PoolClient): ClientState {
    let state = this.#clients.get(client)
    if (!state) {
      state = new ClientState(client)
      this.#clients.set(client, state)
    }
    return state
  }

  /** Cancels the running statement of backend `pid`, over the reserved pool (the main one may be full). */
  async #cancel(pid: number): Promise<void> {
    await this.#priority.query('SELECT pg_cancel_backend($1)', [pid])
  }
}

/**
 * What the engine keeps per physical connection: a Kysely bound to it, how many statements are in
 * flight on it (for cancelling after a timeout), and the error that aborted the open transaction.
 */
class ClientState {
  readonly db: Kysely<BoardSchema>
  inFlight = 0
  /** The first error of the open transaction (Postgres aborts the transaction at any error). */
  abortCause: unknown = undefined

  constructor(readonly client: pg.PoolClient) {
    this.db = sessionKysely<BoardSchema>((sql, parameters) => this.statement(sql, parameters))
  }

  /** Runs one statement, noting it in flight and noting the error that aborts the transaction. */
  async statement(sql: string, parameters: readonly unknown[]): Promise<ReturnType<typeof fromPgResult>> {
    this.inFlight++
    try {
      return fromPgResult(await this.client.query(statementFor(sql, parameters)))
    } catch (error) {
      // 25P02 ("current transaction is aborted") only repeats that an earlier statement failed.
      if (sqlStateOf(error) !== '25P02') this.abortCause ??= error
      throw error
    } finally {
      this.inFlight--
    }
  }

  reset(): void {
    this.inFlight = 0
    this.abortCause = undefined
  }

  /**
   * The error to report for a failed transaction: when the callback failed on "transaction is
   * aborted", the statement error that aborted it (a deadlock the callback caught and then tripped
   * over is still a deadlock, and is retried as one).
   */
  whyAborted(error: unknown): unknown {
    return sqlStateOf(error) === '25P02' && this.abortCause !== undefined ? this.abortCause : error
  }
}

/** The session of one transaction on a pooled client; refuses statements once its transaction is over. */
class PoolSession implements WriteSession {
  readonly #client: pg.PoolClient
  readonly #state: ClientState
  readonly #cancel: (pid: number) => Promise<void>
  #ended = false

  constructor(client: pg.PoolClient, state: ClientState, cancel: (pid: number) => Promise<void>) {
    this.#client = client
    this.#state = state
    this.#cancel = cancel
  }

  get db(): Kysely<BoardSchema> {
    return this.#state.db
  }

  async exec(sql: string): Promise<void> {
    // After the transaction ended the client may already serve another one: never send it anything.
    if (this.#ended) throw new TransactionTimeout('This write transaction is over; its savepoint statement was refused. Nothing was written.')
    await this.#state.statement(sql, [])
  }

  recovered(): void {
    this.#state.abortCause = undefined
  }

  async cancelRunningStatement(): Promise<void> {
    const pid = (this.#client as { processID?: number }).processID
    // The client is still this transaction's (ROLLBACK has not been sent): the cancel cannot reach
    // another transaction's statement.
    if (!this.#ended && this.#state.inFlight > 0 && pid !== undefined) await this.#cancel(pid)
  }

  end(): void {
    this.#ended = true
  }
}

/** COMMIT, then the client goes back to its pool; a connection lost during COMMIT is reported as such. */
async function commit(client: pg.PoolClient, state: ClientState): Promise<void> {
  let result: pg.QueryResult
  try {
    result = await client.query('COMMIT')
  } catch (error) {
    client.release(asError(error))
    if (isConnectionFailure(error)) {
      throw new ConnectionLost(
        `The connection to the PostgreSQL server was lost while committing a write transaction (${asError(error).message}). ` +
          'The COMMIT had been sent: the transaction may or may not have been applied. Read the board to find out before repeating it.',
        { cause: error, sqlState: sqlStateOf(error), details: { commitSent: true } },
      )
    }
    throw error
  }
  client.release()
  // Postgres answers COMMIT of an aborted transaction with ROLLBACK: the callback swallowed an error.
  if (result.command === 'ROLLBACK') {
    throw state.abortCause ?? new Error('The transaction was aborted by an earlier error and rolled back at COMMIT.')
  }
}

/** ROLLBACK, then the client goes back to its pool; a client whose ROLLBACK failed is discarded. */
async function rollBack(client: pg.PoolClient): Promise<void> {
  try {
    await client.query('ROLLBACK')
    client.release()
  } catch (error) {
    // The connection is broken (the server rolls back with the session) or in an unknown state.
    client.release(asError(error))
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

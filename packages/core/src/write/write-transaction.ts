import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { BoardClosed, Busy, InvalidInput, KanbanDbError, ReadOnlyBoard, TransactionTimeout } from '../errors/errors.js'

/**
 * THE write path of a board, top to bottom:
 *
 * 1. `run(fn)` puts the caller at the back of an in-process FIFO queue (`#waiting`).
 * 2. One turn at a time (`#drain`), the caller at the front acquires the board's only connection
 *    through Kysely (`db.connection().execute`), so reads through `board.db` queue behind an open
 *    write instead of running inside it.
 * 3. `BEGIN IMMEDIATE` takes SQLite's write lock up front (a deferred transaction that later writes
 *    fails at once with SQLITE_BUSY). If another process holds the lock past `busy_timeout`, the
 *    connection is released, the turn waits a jittered, growing pause and tries again, until
 *    `busyRetryBudgetMs` is spent; then the caller gets `Busy`.
 * 4. The caller's callback runs with a Kysely bound to that connection (`trx`). A callback that has
 *    not settled after `transactionTimeoutMs` gets `TransactionTimeout`, its transaction is rolled
 *    back and the queue moves on; any query it still tries through `trx` fails.
 * 5. `COMMIT`. On any error (from the callback, or from COMMIT): `ROLLBACK`. If ROLLBACK itself
 *    fails (SQLite already rolled back after an I/O error, for example), the caller still receives
 *    the ORIGINAL error, with the rollback failure attached as `error.rollbackError`.
 * 6. Every SQLite error reaches the caller classified (`classifySqliteError`); errors that are not
 *    SQLite's (a bug in the callback) reach it unchanged.
 *
 * A `run` inside a running callback (board operations inside `board.writeTxn`) joins the open
 * transaction as a SAVEPOINT: its writes commit with the outer transaction, and its failure rolls
 * back only its own writes. Run nested calls one after another (await each), not concurrently.
 */
export class WriteQueue<DB> {
  readonly #db: Kysely<DB>
  readonly #connection: SqliteConnection
  readonly #options: Required<WriteOptions>
  readonly #readonly: boolean
  readonly #waiting: Array<Turn<DB, unknown>> = []
  readonly #idle: Array<() => void> = []
  #draining = false
  #closed = false
  #savepoints = 0

  constructor(db: Kysely<DB>, connection: SqliteConnection, options: WriteQueueOptions = {}) {
    this.#db = db
    this.#connection = connection
    this.#options = resolveWriteOptions(options)
    this.#readonly = options.readonly ?? false
  }

  /** The options in force. */
  get options(): Required<WriteOptions> {
    return this.#options
  }

  /** Runs `fn` in one write transaction (see the class comment) and resolves with what it returned. */
  run<T>(fn: (trx: Kysely<DB>) => Promise<T> | T, options: WriteTxnOptions = {}): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new InvalidInput('writeTxn needs a function (trx) => ...; nothing was written.'))
    let timeoutMs = this.#options.transactionTimeoutMs
    if (options.timeoutMs !== undefined) {
      if (typeof options.timeoutMs !== 'number' || !Number.isFinite(options.timeoutMs) || options.timeoutMs < 0) {
        return Promise.reject(new InvalidInput(`Invalid timeoutMs: expected a number of milliseconds >= 0, got ${String(options.timeoutMs)}. Nothing was written.`, { details: { field: 'timeoutMs' } }))
      }
      timeoutMs = options.timeoutMs
    }
    const outer = currentTurn.getStore()
    if (outer && outer.queue === this && !outer.guard.ended) return this.#nested(outer, fn)
    if (this.#closed) return Promise.reject(new BoardClosed('The board is closed; open it again to write.'))
    if (this.#readonly) return Promise.reject(new ReadOnlyBoard('The board was opened read-only; open it without readonly to write. Nothing was written.'))
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ fn, timeoutMs, resolve, reject } as Turn<DB, unknown>)
      void this.#drain()
    })
  }

  /**
   * The Kysely of the write transaction the calling code runs inside, if any: board reads made from
   * inside `writeTxn` use it, since `board.db` would wait for the very turn that is running.
   */
  currentTransaction(): Kysely<DB> | undefined {
    const turn = currentTurn.getStore()
    return turn && turn.queue === this && !turn.guard.ended ? (turn.trx as Kysely<DB>) : undefined
  }

  /** Refuses new writes and resolves once the queue is empty (the running turn has finished). */
  async close(): Promise<void> {
    this.#closed = true
    if (!this.#draining && this.#waiting.length === 0) return
    await new Promise<void>((resolve) => this.#idle.push(resolve))
  }

  // --- the queue -------------------------------------------------------------------------------

  async #drain(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    try {
      for (let turn = this.#waiting.shift(); turn; turn = this.#waiting.shift()) {
        // Seam for batching: several waiting turns could be taken here and run in ONE transaction,
        // each inside its own SAVEPOINT (as `#nested` does), so that one fsync commits them all;
        // each caller would be settled only after the shared COMMIT returned.
        try {
          await this.#take(turn)
        } catch (error) {
          // #take settles its turn itself; this only catches what should never happen (a driver
          // throwing where it must not), so that one broken turn cannot stall the queue.
          this.#abandonTransaction()
          turn.reject(error)
        }
      }
    } finally {
      this.#draining = false
      for (const resolve of this.#idle.splice(0)) resolve()
    }
  }

  /** Runs one turn to the end. Never throws: the turn's promise is settled instead. */
  async #take(turn: Turn<DB, unknown>): Promise<void> {
    const started = performance.now()
    for (let attempt = 0; ; attempt++) {
      // Seam for fair turns across processes: wait here for this process's slot in a shared turn
      // queue (sqlite-wal-facts.md §4) before BEGIN IMMEDIATE, and hand it on after COMMIT returns.
      const outcome = await this.#db.connection().execute((connection) => this.#attempt(turn, connection))
      if (outcome.kind === 'settled') return
      const spent = performance.now() - started
      if (spent >= this.#options.busyRetryBudgetMs) {
        turn.reject(
          new Busy(
            `Another process held the board's write lock for the whole retry budget (${this.#options.busyRetryBudgetMs} ms, ${attempt + 1} attempts). ` +
              'Nothing was written. Retry later; if it persists, look for a process holding a long write transaction.',
            { cause: outcome.error, sqliteCode: outcome.error.sqliteCode, details: { attempts: attempt + 1, budgetMs: this.#options.busyRetryBudgetMs } },
          ),
        )
        return
      }
      await delay(Math.min(backoff(attempt), this.#options.busyRetryBudgetMs - spent))
    }
  }

  /** One try at a turn on the acquired connection: BEGIN IMMEDIATE, the callback, COMMIT. */
  async #attempt(turn: Turn<DB, unknown>, connection: Kysely<DB>): Promise<AttemptOutcome> {
    try {
      this.#connection.exec('BEGIN IMMEDIATE')
    } catch (error) {
      const classified = classifySqliteError(error, 'starting a write transaction (BEGIN IMMEDIATE)')
      if (classified instanceof Busy) return { kind: 'busy', error: classified }
      turn.reject(classified)
      return { kind: 'settled' }
    }

    const guard = new TurnGuard()
    const trx = connection.withPlugin(guard)
    let value: unknown
    try {
      value = await this.#withTimeout(
        Promise.resolve(currentTurn.run({ queue: this, trx, guard }, () => turn.fn(trx))),
        turn.timeoutMs,
        guard,
      )
    } catch (error) {
      guard.end()
      turn.reject(this.#rollBack(classifySqliteError(error, 'running a write transaction')))
      return { kind: 'settled' }
    }
    guard.end()

    try {
      this.#connection.exec('COMMIT')
    } catch (error) {
      // COMMIT failed (I/O error, disk full, or a lock in rollback-journal mode): nothing was written.
      turn.reject(this.#rollBack(classifySqliteError(error, 'committing a write transaction')))
      return { kind: 'settled' }
    }
    turn.resolve(value)
    return { kind: 'settled' }
  }

  /** Waits for the callback, but no longer than the transaction timeout. */
  async #withTimeout<T>(work: Promise<T>, timeoutMs: number, guard: TurnGuard): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new TransactionTimeout(
            `The write transaction's callback did not finish within ${timeoutMs} ms. It was rolled back and nothing it wrote was kept; ` +
              'its later queries through trx fail. Make the callback shorter (no waiting on other work inside a write), or raise transactionTimeoutMs.',
            { details: { timeoutMs } },
          ),
        )
      }, timeoutMs)
    })
    try {
      return await Promise.race([work, expired])
    } finally {
      clearTimeout(timer)
      if (!guard.ended) guard.end()
    }
  }

  /**
   * Rolls the open transaction back and returns the error the caller should see: always `original`;
   * when ROLLBACK itself failed, with that failure attached as `rollbackError`.
   */
  #rollBack(original: unknown): unknown {
    try {
      this.#connection.exec('ROLLBACK')
    } catch (rollbackError) {
      // SQLite rolls back by itself after some errors (SQLITE_IOERR, SQLITE_FULL, ...), and ROLLBACK
      // then fails with "no transaction is active". If a transaction is somehow still open, try once
      // more so the next turn does not start inside it.
      if (this.#connection.isOpen && this.#connection.inTransaction) {
        try {
          this.#connection.exec('ROLLBACK')
        } catch {
          // Reported through rollbackError below.
        }
      }
      return attachRollbackError(original, classifySqliteError(rollbackError, 'rolling back a failed write transaction'))
    }
    return original
  }

  /** Rolls back whatever transaction is still open on the connection, ignoring failures. */
  #abandonTransaction(): void {
    try {
      if (this.#connection.isOpen && this.#connection.inTransaction) this.#connection.exec('ROLLBACK')
    } catch {
      // Nothing more can be done here; the next BEGIN IMMEDIATE reports what is wrong.
    }
  }

  /** A `run` inside a running callback: a SAVEPOINT in the open transaction. */
  async #nested<T>(outer: TurnContext, fn: (trx: Kysely<DB>) => Promise<T> | T): Promise<T> {
    const name = `kanban_db_${++this.#savepoints}`
    const trx = outer.trx as Kysely<DB>
    this.#connection.exec(`SAVEPOINT ${name}`)
    let value: T
    try {
      value = await fn(trx)
    } catch (error) {
      const original = classifySqliteError(error, 'running a nested write')
      try {
        this.#connection.exec(`ROLLBACK TO ${name}`)
        this.#connection.exec(`RELEASE ${name}`)
      } catch (rollbackError) {
        throw attachRollbackError(original, classifySqliteError(rollbackError, 'rolling back to a savepoint'))
      }
      throw original
    }
    this.#connection.exec(`RELEASE ${name}`)
    return value
  }
}

/** Options of the write path, all optional with documented defaults. */
export interface WriteOptions {
  /**
   * How long a write keeps retrying BEGIN IMMEDIATE while another process holds the write lock
   * (each try already waits up to the policy's `busy_timeout`), before it fails with `Busy`.
   * Default 30,000 ms.
   */
  readonly busyRetryBudgetMs?: number
  /**
   * How long a `writeTxn` callback may run before it is rolled back with `TransactionTimeout`.
   * Default 30,000 ms.
   */
  readonly transactionTimeoutMs?: number
}

/** Options of one `writeTxn` call. */
export interface WriteTxnOptions {
  /** This transaction's timeout, instead of the board's `transactionTimeoutMs`. */
  readonly timeoutMs?: number
}

/** Options of {@link WriteQueue}. */
export interface WriteQueueOptions extends WriteOptions {
  /** Refuse every write with `ReadOnlyBoard`. */
  readonly readonly?: boolean
}

/** The defaults of {@link WriteOptions}. */
export const defaultWriteOptions: Required<WriteOptions> = Object.freeze({
  busyRetryBudgetMs: 30_000,
  transactionTimeoutMs: 30_000,
})

/** The write options with defaults applied, after checking each is a sensible number. */
export function resolveWriteOptions(options: WriteOptions = {}): Required<WriteOptions> {
  const resolved = { ...defaultWriteOptions }
  for (const key of ['busyRetryBudgetMs', 'transactionTimeoutMs'] as const) {
    const value = options[key]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidInput(`Invalid ${key}: expected a number of milliseconds >= 0, got ${String(value)}.`, { details: { field: key, value } })
    }
    resolved[key] = value
  }
  return Object.freeze(resolved)
}

/**
 * The error a failed write carries when ROLLBACK failed too. The caller's error is the original
 * one; `rollbackError` says why the rollback itself failed (usually: SQLite had already rolled
 * back after an I/O error, so nothing was written either way).
 */
export type WithRollbackError<E> = E & { readonly rollbackError?: unknown }

/** The rollback failure attached to a write error, if any. */
export function rollbackErrorOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { rollbackError?: unknown }).rollbackError : undefined
}

function attachRollbackError(original: unknown, rollbackError: unknown): unknown {
  if (typeof original === 'object' && original !== null && Object.isExtensible(original)) {
    Object.defineProperty(original, 'rollbackError', { value: rollbackError, enumerable: true, configurable: true })
    return original
  }
  // A primitive was thrown: wrap it so the rollback failure is not lost.
  const wrapped = new Error(`write transaction failed: ${String(original)}`, { cause: original })
  Object.defineProperty(wrapped, 'rollbackError', { value: rollbackError, enumerable: true })
  return wrapped
}

/** Jittered exponential backoff: about 2, 4, 8 ... ms, capped at about 100 ms. */
function backoff(attempt: number): number {
  const base = Math.min(100, 2 ** (attempt + 1))
  return base / 2 + Math.random() * base
}

interface Turn<DB, T> {
  readonly fn: (trx: Kysely<DB>) => Promise<T> | T
  readonly timeoutMs: number
  readonly resolve: (value: T) => void
  readonly reject: (error: unknown) => void
}

type AttemptOutcome = { readonly kind: 'settled' } | { readonly kind: 'busy'; readonly error: KanbanDbError }

interface TurnContext {
  readonly queue: WriteQueue<never> | WriteQueue<any>
  readonly trx: Kysely<any>
  readonly guard: TurnGuard
}

/** Which turn the running code belongs to, so nested writes and reads join it. */
const currentTurn = new AsyncLocalStorage<TurnContext>()

/**
 * Fails queries a callback makes after its turn ended (it timed out, or it leaked `trx`), so a late
 * query can never run inside the next caller's transaction or outside any.
 */
class TurnGuard implements KyselyPlugin {
  #ended = false

  get ended(): boolean {
    return this.#ended
  }

  end(): void {
    this.#ended = true
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.#ended) {
      throw new TransactionTimeout(
        'This write transaction is over (it timed out or its callback returned): a query through its trx was refused. Start a new board.writeTxn.',
      )
    }
    return args.node
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result
  }
}

import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import { BoardClosed, Busy, InvalidInput, ReadOnlyBoard, TransactionTimeout } from '@kanban-db/core'
import { TransactionGuard, type BoardSchema, type WriteOptions, type WriteTxnOptions } from '@kanban-db/core/adapter'
import { classifyPostgresError } from '../classify.js'
import { sqlStateOf } from '../sql-state.js'
import { MAX_DUPLICATE_RETRIES, backoffMs, retryReason } from './retry-policy.js'
import type { TransactionSource, WriteSession } from './transaction-source.js'

/**
 * The Postgres write path, much simpler than SQLite's: the server handles concurrency, so there is
 * no in-process queue and no group commit. Each `run` is its own READ COMMITTED transaction on a
 * pooled connection, many at once.
 *
 * - Serialization failures, deadlocks and duplicate idempotency keys roll back and run again, with
 *   jittered backoff, for up to `busyRetryBudgetMs`; then `Busy`, the last error as cause.
 * - A callback running past its timeout gets `TransactionTimeout` at once; its `trx` refuses further
 *   queries (`TransactionGuard`), the statement it is running is cancelled, and the transaction rolls back
 *   in the background (`close()` waits for that).
 * - A `run` made inside a running callback of the same engine (AsyncLocalStorage) joins it as a
 *   SAVEPOINT: its failure rolls back only its own writes.
 * - A lost connection is `ConnectionLost` and is not retried: its COMMIT may have landed.
 */
export class WritePath {
  readonly #source: TransactionSource
  readonly #options: Required<WriteOptions>
  readonly #readonly: boolean
  /** Everything still running: callers' writes and transactions rolling back after a timeout. */
  readonly #running = new Set<Promise<unknown>>()
  #closed = false
  #savepoints = 0

  constructor(source: TransactionSource, options: Required<WriteOptions>, readonly: boolean) {
    this.#source = source
    this.#options = options
    this.#readonly = readonly
  }

  /** Runs `fn` in a write transaction (see the class comment) and resolves with what it returned. */
  run<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options: WriteTxnOptions = {}): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new InvalidInput('writeTxn needs a function (trx) => ...; nothing was written.'))
    const checked = checkTxnOptions(options, this.#options.transactionTimeoutMs)
    if (checked instanceof InvalidInput) return Promise.reject(checked)
    const outer = currentWrite.getStore()
    if (outer?.owner === this) {
      if (!outer.guard.ended) return this.#nested(outer, fn)
      if (outer.guard.timedOut) {
        // The callback outlived its transaction: its caller was told nothing it wrote was kept, so a
        // write it makes now must not commit on its own.
        return Promise.reject(
          new TransactionTimeout('This write comes from a write transaction that timed out and was rolled back; it was refused so that none of that callback\'s work is kept. Nothing was written.'),
        )
      }
    }
    if (this.#closed) return Promise.reject(new BoardClosed('The board is closed; open it again to write.'))
    if (this.#readonly) return Promise.reject(new ReadOnlyBoard('The board was opened read-only; open it without readonly to write. Nothing was written.'))
    return this.#track(this.#withRetries(fn, checked.timeoutMs, checked.priority))
  }

  /** The Kysely of the write transaction the calling code runs inside, if any. */
  currentTransaction(): Kysely<BoardSchema> | undefined {
    const write = currentWrite.getStore()
    return write?.owner === this && !write.guard.ended ? write.trx : undefined
  }

  /** How many writes (and background rollbacks) are running. */
  get running(): number {
    return this.#running.size
  }

  /** Refuses new writes and resolves once the running ones (and their rollbacks) have finished. */
  async close(): Promise<void> {
    this.#closed = true
    while (this.#running.size > 0) await Promise.allSettled([...this.#running])
  }

  /** Keeps `work` in {@link #running} until it settles. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#running.add(work)
    const forget = (): void => void this.#running.delete(work)
    work.then(forget, forget)
    return work
  }

  /** Tries until the transaction commits, fails for good, times out, or the retry budget is spent. */
  async #withRetries<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, timeoutMs: number, priority: boolean): Promise<T> {
    const started = performance.now()
    let duplicates = 0
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(fn, timeoutMs, priority)
      if (outcome.kind === 'committed') return outcome.value as T
      if (outcome.kind === 'timedOut') throw outcome.error
      const reason = retryReason(outcome.error)
      if (reason === undefined || (reason === 'duplicate' && ++duplicates > MAX_DUPLICATE_RETRIES)) {
        throw classifyPostgresError(outcome.error, 'running a write transaction')
      }
      const spent = performance.now() - started
      if (spent >= this.#options.busyRetryBudgetMs) {
        throw new Busy(
          `The write kept conflicting with concurrent transactions (${describeConflict(outcome.error)}) for the whole retry budget ` +
            `(${this.#options.busyRetryBudgetMs} ms, ${attempt} attempts). Nothing of it was kept. Retry later; if it persists, look for long transactions on the same rows.`,
          { cause: outcome.error, sqlState: sqlStateOf(outcome.error), details: { attempts: attempt, budgetMs: this.#options.busyRetryBudgetMs } },
        )
      }
      await delay(Math.min(backoffMs(attempt), this.#options.busyRetryBudgetMs - spent))
    }
  }

  /**
   * One transaction. Settles when it committed or failed, or AT ONCE when the callback times out;
   * the rollback then goes on in the background, tracked for `close()`.
   */
  #attempt(fn: (trx: Kysely<BoardSchema>) => unknown, timeoutMs: number, priority: boolean): Promise<Outcome> {
    return new Promise<Outcome>((settle) => {
      const transaction = this.#source.run((session) => this.#runCallback(fn, session, timeoutMs, settle), priority)
      transaction.then(
        (value) => settle({ kind: 'committed', value }),
        (error: unknown) => settle({ kind: 'failed', error }),
      )
      // A settled outcome does not end the transaction (after a timeout it is still rolling back).
      this.#track(transaction).catch(() => {})
    })
  }

  /** Runs the callback inside the open transaction, racing its timeout. */
  async #runCallback(
    fn: (trx: Kysely<BoardSchema>) => unknown, session: WriteSession, timeoutMs: number, settle: (outcome: Outcome) => void,
  ): Promise<unknown> {
    const guard = new TransactionGuard()
    const trx = session.db.withPlugin(guard)
    const context: WriteContext = { owner: this, trx, guard, session, nestedTail: Promise.resolve() }
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        guard.timeOut()
        const error = new TransactionTimeout(
          `The write transaction's callback did not finish within ${timeoutMs} ms. It is rolled back and nothing it wrote is kept; ` +
            'its later queries through trx fail. Make the callback shorter (no waiting on other work inside a write), or raise transactionTimeoutMs.',
          { details: { timeoutMs } },
        )
        settle({ kind: 'timedOut', error })
        reject(error)
      }, timeoutMs)
    })
    try {
      const work = currentWrite.run(context, async () => fn(trx))
      return await Promise.race([work, expired])
    } catch (error) {
      // A statement still running (a lock wait) would hold the ROLLBACK behind it: cancel it.
      if (guard.timedOut) await session.cancelRunningStatement().catch(() => {})
      throw error
    } finally {
      clearTimeout(timer)
      guard.end()
    }
  }

  /**
   * A write inside a running callback: a SAVEPOINT in its transaction. Nested writes started together
   * run one after another, each in its own savepoint; a nested write's own nested writes get a level
   * of their own.
   */
  async #nested<T>(outer: WriteContext, fn: (trx: Kysely<BoardSchema>) => Promise<T> | T): Promise<T> {
    const previous = outer.nestedTail
    let finished!: () => void
    outer.nestedTail = new Promise<void>((resolve) => (finished = resolve))
    await previous
    try {
      if (outer.guard.ended) {
        throw new TransactionTimeout('The write transaction this nested write belongs to is over (it timed out or returned). Nothing was written.')
      }
      const savepoint = `kanban_db_${++this.#savepoints}`
      await outer.session.exec(`SAVEPOINT ${savepoint}`)
      try {
        const value = await currentWrite.run({ ...outer, nestedTail: Promise.resolve() }, async () => fn(outer.trx))
        await outer.session.exec(`RELEASE SAVEPOINT ${savepoint}`)
        return value
      } catch (error) {
        const reported = classifyPostgresError(error, 'running a nested write')
        try {
          await outer.session.exec(`ROLLBACK TO SAVEPOINT ${savepoint}`)
          await outer.session.exec(`RELEASE SAVEPOINT ${savepoint}`)
          outer.session.recovered()
        } catch (rollbackError) {
          throw attachRollbackError(reported, classifyPostgresError(rollbackError, 'rolling back to a savepoint'))
        }
        throw reported
      }
    } catch (error) {
      throw classifyPostgresError(error, 'starting a nested write')
    } finally {
      finished()
    }
  }
}

/** How one transaction ended, as the caller sees it. */
type Outcome =
  | { readonly kind: 'committed'; readonly value: unknown }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'timedOut'; readonly error: TransactionTimeout }

/** The write the running code belongs to, so nested writes and reads join it. */
interface WriteContext {
  readonly owner: WritePath
  readonly trx: Kysely<BoardSchema>
  readonly guard: TransactionGuard
  readonly session: WriteSession
  /** Settles when the last nested write started at this level has finished: they run one by one. */
  nestedTail: Promise<void>
}

const currentWrite = new AsyncLocalStorage<WriteContext>()

/** Checks one call's options; the timeout in force and the lane, or the `InvalidInput` to reject with. */
function checkTxnOptions(options: WriteTxnOptions, defaultTimeoutMs: number): { timeoutMs: number; priority: boolean } | InvalidInput {
  const { timeoutMs, priority, batch } = options
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)) {
    return new InvalidInput(`Invalid timeoutMs: expected a number of milliseconds >= 0, got ${String(timeoutMs)}. Nothing was written.`, { details: { field: 'timeoutMs' } })
  }
  for (const [field, value] of [['batch', batch], ['priority', priority]] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      return new InvalidInput(`Invalid ${field}: expected true or false, got ${String(value)}. Nothing was written.`, { details: { field } })
    }
  }
  // `batch` is accepted and ignored: group commit exists on SQLite to share one fsync among writers
  // that must take turns anyway; a Postgres server commits concurrent transactions in parallel (and
  // groups their WAL flushes itself), so there is nothing to batch here.
  return { timeoutMs: timeoutMs ?? defaultTimeoutMs, priority: priority ?? false }
}

/** A short "SQLSTATE: message" of the last conflict, for the `Busy` message. */
function describeConflict(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return `${sqlStateOf(error) ?? 'conflict'}: ${message}`
}

/** Attaches the failure of a savepoint rollback to the error the caller sees (as core's write path does). */
function attachRollbackError(original: unknown, rollbackError: unknown): unknown {
  if (typeof original === 'object' && original !== null && Object.isExtensible(original)) {
    Object.defineProperty(original, 'rollbackError', { value: rollbackError, enumerable: true, configurable: true })
    return original
  }
  const wrapped = new Error(`nested write failed: ${String(original)}`, { cause: original })
  Object.defineProperty(wrapped, 'rollbackError', { value: rollbackError, enumerable: true })
  return wrapped
}

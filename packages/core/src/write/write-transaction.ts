import { AsyncLocalStorage } from 'node:async_hooks'
import { statSync } from 'node:fs'
import { setImmediate as nextTurnOfTheEventLoop } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import type { SqliteConnection, SqliteStatement } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { primaryCode, sqliteCodeOf } from '../errors/sqlite-codes.js'
import { BoardClosed, Busy, InvalidInput, KanbanDbError, ReadOnlyBoard, TransactionTimeout } from '../errors/errors.js'
import { TransactionGuard } from '../engine/transaction-guard.js'
import { retryReadStart } from '../hygiene/read-start-retry.js'
import { LockContention } from './lock-contention.js'
import { minimumPauseMs, pauseBetweenTries } from './pause-between-tries.js'
import { WaitingLine, waitingLineEnabled } from './waiting-line.js'

/**
 * THE write path of a board, top to bottom:
 *
 * 1. `run(fn)` puts the caller at the back of one of two in-process FIFO lanes: the priority lane
 *    (`{ priority: true }`, for heartbeats, so they never wait behind an unbounded number of other
 *    writes) or the normal lane.
 * 2. One transaction at a time (`#drain`), the write path acquires the board's only connection
 *    through Kysely (`db.connection().execute`), so reads through `board.db` queue behind an open
 *    write instead of running inside it.
 * 3. Across processes, `BEGIN IMMEDIATE` takes SQLite's write lock up front (a deferred transaction
 *    that later writes fails at once with SQLITE_BUSY), with SQLite's busy handler switched off for
 *    that one statement: SQLite's handler is not a queue (its waiters sleep up to 100 ms while the
 *    process that just committed takes the lock again, and a synchronous driver blocks the whole
 *    process, heartbeat timers included, while it sleeps). If another process holds the lock, this
 *    process tries again after 0.2-0.8 ms (jittered; the thread sleeps in between), more often the
 *    longer it has waited, so the longest waiter most likely gets the lock next, for a slice of
 *    at most 5 ms, then releases the connection, lets its event loop turn (timers, heartbeats and
 *    I/O run) and starts another slice: waiters poll at sub-millisecond scale, so the lock changes
 *    hands soon after the holder's COMMIT has returned. After `busyRetryBudgetMs` the turns that
 *    were to run get `Busy`. The only lock is SQLite's, which the kernel releases when its holder
 *    dies.
 *    From the first time it finds the lock held, a process also stands in the board's waiting line
 *    (`WaitingLine`, a small file `<board>.write-queue`): while others wait, only the one that has
 *    waited longest tries BEGIN IMMEDIATE (every 0.1-0.2 ms); the others read the line, every 0.5 ms
 *    per waiter ahead of them (at most 4 ms), and let their event loop turn every 25 ms instead of
 *    5. The process that got the lock may take it again without queueing for 5 ms (its quantum),
 *    then goes to the back of the line if anyone stands in it. Without the line every waiter polls
 *    (more often the longer it waits): with more writers than cores their tries take the CPU the
 *    holder needs (16 processes on 2 cores: 3-8 cycles/s, 190-280 ms of CPU per cycle, waits of
 *    4-6 s; bench `fleet16`). The line is advisory: a writer that does not stand in it only jumps
 *    it, and a line that cannot be opened leaves each process polling on its own.
 * 4. Stepping aside (`#stepAsideIfHogging`, `LockContention`; not once the waiting line is open,
 *    which decides who is next itself): when this process has committed
 *    `yieldAfterCommits` transactions in a row with no other connection committing in between
 *    (`PRAGMA data_version`) while another writer was seen in the last 50 ms (every 8th commit while
 *    one was seen only in the last 5 s), it pauses `yieldMs` before its next BEGIN, so that the
 *    others' polls find the lock free.
 * 5. Group commit: once the lock is held, the turns waiting at the front (priority lane first, up
 *    to `maxBatchSize`, stopping at a turn that asked `{ batch: false }`) run in that ONE
 *    transaction, one after another. Each runs inside its own SAVEPOINT, so a caller's error rolls
 *    back only its own writes. A batch of one runs without a savepoint. Each callback that has not
 *    settled after its `timeoutMs` gets `TransactionTimeout` and only its own writes are rolled
 *    back; any query it still tries through its `trx` fails. After a commit that settled several
 *    callers, with others waiting, the event loop turns once before the next transaction, so the
 *    callers it settled can queue their next writes for it.
 * 6. `COMMIT`, then every caller of the batch is settled: no promise resolves before the shared
 *    COMMIT returned (so under synchronous=FULL a resolved write is on disk). If COMMIT fails, every
 *    caller rejects. If SQLite rolled the whole transaction back by itself (an I/O error or a full
 *    disk in one caller's work), the callers that already ran reject and those that had not run yet
 *    go back to the front of the queue. If ROLLBACK itself fails, the caller still receives the
 *    ORIGINAL error, with the rollback failure attached as `error.rollbackError`.
 * 7. After the commit, while other processes write too, every `checkpointEvery` commits a RESTART
 *    checkpoint (`#checkpointBetweenWriters`), and an overgrown -wal gets a TRUNCATE checkpoint
 *    (`#keepWalBounded`): SQLite's automatic checkpoint runs after the lock is released, while the
 *    next writer appends, and the WAL would never rewind.
 * 8. Every SQLite error reaches the caller classified (`classifySqliteError`); errors that are not
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
  readonly #priorityLane: Array<Turn<DB, unknown>> = []
  readonly #normalLane: Array<Turn<DB, unknown>> = []
  readonly #idle: Array<() => void> = []
  readonly #contention = new LockContention()
  #draining = false
  #closed = false
  #savepoints = 0
  #policyBusyTimeoutMs: number | undefined
  #dataVersion: SqliteStatement | undefined
  #walLimit: WalLimit | undefined
  #commitsBeforeWalCheck = 0
  #commitsSinceCheckpoint = 0
  /** The line waiters of every process stand in (opened at the first lock found held); see WaitingLine. */
  #line: WaitingLine | undefined
  /** Whether to open the line at the next lock found held (not when it cannot be opened, nor when turned off). */
  #lineWanted = waitingLineEnabled()
  /** When this process last got the lock after waiting its turn: its quantum starts there. */
  #quantumStart = Number.NEGATIVE_INFINITY
  /** The driver's error of the latest try that found the lock held (the cause of a `Busy`). */
  #lastBusyError: unknown

  constructor(db: Kysely<DB>, connection: SqliteConnection, options: WriteQueueOptions = {}) {
    this.#db = db
    this.#connection = connection
    const { readonly, ...writeOptions } = options
    this.#options = resolveWriteOptions(writeOptions)
    this.#readonly = readonly ?? false
  }

  /** The options in force. */
  get options(): Required<WriteOptions> {
    return this.#options
  }

  /** Runs `fn` in a write transaction (see the class comment) and resolves with what it returned. */
  run<T>(fn: (trx: Kysely<DB>) => Promise<T> | T, options: WriteTxnOptions = {}): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new InvalidInput('writeTxn needs a function (trx) => ...; nothing was written.'))
    let timeoutMs = this.#options.transactionTimeoutMs
    if (options.timeoutMs !== undefined) {
      if (typeof options.timeoutMs !== 'number' || !Number.isFinite(options.timeoutMs) || options.timeoutMs < 0) {
        return Promise.reject(new InvalidInput(`Invalid timeoutMs: expected a number of milliseconds >= 0, got ${String(options.timeoutMs)}. Nothing was written.`, { details: { field: 'timeoutMs' } }))
      }
      timeoutMs = options.timeoutMs
    }
    for (const field of ['batch', 'priority'] as const) {
      if (options[field] !== undefined && typeof options[field] !== 'boolean') {
        return Promise.reject(new InvalidInput(`Invalid ${field}: expected true or false, got ${String(options[field])}. Nothing was written.`, { details: { field } }))
      }
    }
    const outer = currentTurn.getStore()
    if (outer && outer.queue === this && !outer.guard.ended) return this.#nested(outer, fn)
    if (outer && outer.queue === this && outer.guard.timedOut) {
      // The callback outlived its transaction: its caller was told nothing it wrote was kept, so a
      // write it makes now must not commit on its own (its retry would then write it twice).
      return Promise.reject(
        new TransactionTimeout(
          'This write comes from a write transaction that timed out and was rolled back; it was refused so that none of that callback\'s work is kept. Nothing was written.',
        ),
      )
    }
    if (this.#closed) return Promise.reject(new BoardClosed('The board is closed; open it again to write.'))
    if (this.#readonly) return Promise.reject(new ReadOnlyBoard('The board was opened read-only; open it without readonly to write. Nothing was written.'))
    return new Promise<T>((resolve, reject) => {
      const priority = options.priority ?? false
      const turn = new Turn<DB, T>(fn, timeoutMs, options.batch ?? true, priority, resolve, reject)
      ;(priority ? this.#priorityLane : this.#normalLane).push(turn as Turn<DB, unknown>)
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

  /** Refuses new writes and resolves once the queue is empty (the running transaction has finished). */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#draining || this.#waitingCount() > 0) await new Promise<void>((resolve) => this.#idle.push(resolve))
    this.#dataVersion?.finalize()
    this.#dataVersion = undefined
    this.#line?.close()
    this.#line = undefined
    this.#lineWanted = false
  }

  // --- the queue -------------------------------------------------------------------------------

  async #drain(): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    try {
      while (this.#waitingCount() > 0) {
        try {
          const settled = await this.#transaction()
          // The commit settled several callers: let the event loop turn once before the next
          // transaction, so that they (each a few promise hops from writing again) join its batch
          // instead of the one after it. After a batch of one (a lone caller writing again at
          // once) the next transaction starts without that turn.
          if (settled > 1 && this.#waitingCount() > 0) await nextTurnOfTheEventLoop()
        } catch (error) {
          // #transaction settles what it takes; this only catches what should never happen (the
          // connection could not even be acquired), so that the callers waiting cannot hang.
          this.#abandonTransaction()
          for (const turn of this.#takeBatch()) turn.reject(error)
        }
      }
    } finally {
      this.#draining = false
      for (const resolve of this.#idle.splice(0)) resolve()
    }
  }

  #waitingCount(): number {
    return this.#priorityLane.length + this.#normalLane.length
  }

  /**
   * The turns the next transaction runs: the priority lane first, then the normal lane, in order,
   * at most `maxBatchSize`; a turn that asked `{ batch: false }` runs alone.
   */
  #takeBatch(): Array<Turn<DB, unknown>> {
    const batch: Array<Turn<DB, unknown>> = []
    while (batch.length < this.#options.maxBatchSize) {
      const lane = this.#priorityLane.length > 0 ? this.#priorityLane : this.#normalLane
      const next = lane[0]
      if (!next || (batch.length > 0 && (!next.batch || !batch[0]!.batch))) break
      batch.push(lane.shift()!)
    }
    return batch
  }

  /** Puts turns that never ran back at the front of their lanes, in their order. */
  #putBack(turns: ReadonlyArray<Turn<DB, unknown>>): void {
    for (const turn of [...turns].reverse()) (turn.priority ? this.#priorityLane : this.#normalLane).unshift(turn)
  }

  /**
   * One transaction to the end: waits for the lock, runs a batch, commits. Settles what it takes
   * and returns how many turns its batch had (0 when the lock never came).
   */
  async #transaction(): Promise<number> {
    this.#stepAsideIfHogging()
    const started = performance.now()
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#db.connection().execute((connection) => this.#attempt(connection, started))
      if (outcome.kind === 'settled') return outcome.turns
      const spent = performance.now() - started
      if (spent >= this.#options.busyRetryBudgetMs) {
        this.#line?.leave()
        const lastBusy = classifySqliteError(outcome.error, 'starting a write transaction (BEGIN IMMEDIATE)') as KanbanDbError
        for (const turn of this.#takeBatch()) {
          turn.reject(
            new Busy(
              `Another process held the board's write lock for the whole retry budget (${this.#options.busyRetryBudgetMs} ms, ${attempt + 1} attempts). ` +
                'Nothing was written. Retry later; if it persists, look for a process holding a long write transaction.',
              { cause: lastBusy, sqliteCode: lastBusy.sqliteCode, details: { attempts: attempt + 1, budgetMs: this.#options.busyRetryBudgetMs } },
            ),
          )
        }
        return 0
      }
      await nextTurnOfTheEventLoop()
    }
  }

  /** One try: BEGIN IMMEDIATE; if the lock was free, the batch and COMMIT. */
  async #attempt(connection: Kysely<DB>, waitingSince: number): Promise<AttemptOutcome> {
    const begun = this.#begin(waitingSince)
    if (begun.kind === 'busy') return begun
    const batch = this.#takeBatch()
    if (begun.kind === 'failed') {
      for (const turn of batch) turn.reject(classifySqliteError(begun.error, 'starting a write transaction (BEGIN IMMEDIATE)'))
      return { kind: 'settled', turns: batch.length }
    }
    try {
      await this.#runBatch(batch, connection)
    } catch (error) {
      // #runBatch settles its turns itself; this only catches what should never happen (a driver
      // throwing where it must not), so that one broken transaction cannot stall the queue.
      this.#abandonTransaction()
      for (const turn of batch) turn.reject(error)
    }
    return { kind: 'settled', turns: batch.length }
  }

  /**
   * `BEGIN IMMEDIATE`. With `lockPolling` (the default) SQLite's busy handler is off (busy_timeout 0,
   * the policy's value back before anything else runs) and a lock held elsewhere is tried again
   * after a jittered sleep that shrinks as the wait since `waitingSince` grows (`pauseBetweenTries`;
   * the thread sleeps, using no CPU), for at most `lockPollSliceMs`; then the caller lets the event
   * loop turn and comes back.
   */
  #begin(waitingSince: number): BeginOutcome {
    if (!this.#options.lockPolling) return this.#tryBegin()
    this.#policyBusyTimeoutMs ??= readBusyTimeout(this.#connection)
    this.#connection.exec('PRAGMA busy_timeout = 0')
    try {
      let sliceEnd = performance.now() + lockPollSliceMs
      const since = performance.timeOrigin + waitingSince
      let inLine = this.#line !== undefined && (this.#line.joined || this.#mustStandInLine())
      let stoodInLine = false
      for (;;) {
        if (inLine) {
          const ahead = this.#line!.ahead(since)
          if (ahead > 0) {
            // Others waited longer: only the head of the line tries the lock. A waiter behind others
            // lets its event loop turn less often (every lineSliceMs): each turn costs CPU the
            // lock's holder needs, and nothing it would run can write before its turn anyway.
            if (!stoodInLine) {
              stoodInLine = true
              sliceEnd += lineSliceMs - lockPollSliceMs
            }
            if (performance.now() >= sliceEnd) return { kind: 'busy', error: this.#lastBusyError }
            sleep(pauseInLine(ahead))
            continue
          }
        }
        const outcome = this.#tryBegin()
        const now = performance.now()
        if (outcome.kind !== 'busy') {
          this.#line?.leave()
          if (outcome.kind === 'begun' && now - this.#quantumStart > lineQuantumMs) this.#quantumStart = now
          return outcome
        }
        this.#lastBusyError = outcome.error
        if (this.#line === undefined && this.#lineWanted) {
          this.#line = WaitingLine.open(this.#connection.path)
          this.#lineWanted = this.#line !== undefined
        }
        inLine = this.#line !== undefined
        if (now >= sliceEnd) return outcome
        sleep(inLine ? headPause() : pauseBetweenTries(now - waitingSince))
      }
    } finally {
      this.#connection.exec(`PRAGMA busy_timeout = ${this.#policyBusyTimeoutMs}`)
    }
  }

  /**
   * Must this process stand in the waiting line before it tries the lock? Yes when others stand
   * in it and this process's quantum is over: the process that got the lock may take it again
   * without queueing for `lineQuantumMs` after it got it (handing over after every transaction
   * would cost a handover per commit), and then goes to the back of the line.
   */
  #mustStandInLine(): boolean {
    if (performance.now() - this.#quantumStart <= lineQuantumMs) return false
    return this.#line!.othersWaiting()
  }

  /**
   * One `BEGIN IMMEDIATE`; on success, notes whether another connection committed since the last.
   * A try that finds the lock held is the common case while other processes write, and it throws:
   * it runs with stack traces off (a failed try then costs about 10 µs of CPU instead of 46 µs, the
   * driver's error and a classified one each capturing a stack), and the error is classified only
   * if it reaches a caller. Where the runtime keeps `Error.stackTraceLimit` read-only (frozen
   * intrinsics), the try runs with stack traces as they are.
   */
  #tryBegin(): BeginOutcome {
    let failure: { error: unknown } | undefined
    const stackTraceLimit = Error.stackTraceLimit
    const silenced = turnStackTracesOff()
    try {
      this.#connection.exec('BEGIN IMMEDIATE')
    } catch (error) {
      try {
        retryReadStart(this.#connection, error, () => this.#connection.exec('BEGIN IMMEDIATE'))
      } catch (latest) {
        failure = { error: latest }
      }
    } finally {
      if (silenced) Error.stackTraceLimit = stackTraceLimit
    }
    if (failure) {
      const code = sqliteCodeOf(failure.error)
      if (code !== undefined && (primaryCode(code) === 'SQLITE_BUSY' || primaryCode(code) === 'SQLITE_LOCKED')) {
        this.#contention.sawLockHeld()
        return { kind: 'busy', error: failure.error }
      }
      // Not the common case: give the error back the stack it was created without.
      if (silenced && typeof failure.error === 'object' && failure.error !== null) Error.captureStackTrace(failure.error)
      return { kind: 'failed', error: failure.error }
    }
    if (this.#options.yieldAfterCommits > 0) {
      try {
        this.#dataVersion ??= this.#connection.prepare('PRAGMA data_version')
        this.#contention.began(this.#dataVersion.all([])[0]?.['data_version'])
      } catch (error) {
        // The transaction began but its first read failed (an I/O error, say): end it and report
        // it as a BEGIN that failed, classified, rather than leave the batch to the queue's last resort.
        this.#abandonTransaction()
        return { kind: 'failed', error }
      }
    }
    return { kind: 'begun' }
  }

  /** Has this process held the lock `yieldAfterCommits` times in a row while others want it? Then pause. */
  #stepAsideIfHogging(): void {
    // A sleep of the thread, not a timer: on a loaded machine a 1 ms timer can fire 10+ ms late.
    // With a waiting line the line decides who is next; stepping aside would only idle the lock.
    if (this.#line !== undefined) return
    if (this.#contention.shouldStepAside(this.#options.yieldAfterCommits)) sleep(this.#options.yieldMs)
  }

  /** Runs each turn of the batch in the open transaction, then commits and settles them all. */
  async #runBatch(batch: ReadonlyArray<Turn<DB, unknown>>, connection: Kysely<DB>): Promise<void> {
    const outcomes: TurnOutcome[] = []
    for (const [index, turn] of batch.entries()) {
      const savepoint = batch.length > 1 ? `kanban_db_${++this.#savepoints}` : undefined
      const outcome = await this.#runTurn(turn, connection, savepoint)
      outcomes.push(outcome)
      if (outcome.kind === 'failed' && !this.#connection.inTransaction) {
        // SQLite rolled the whole transaction back (or this turn had it to itself): the turns that
        // ran lost their writes, the turns that did not run yet try again in the next transaction.
        this.#putBack(batch.slice(index + 1))
        batch.slice(0, index + 1).forEach((ran, at) => {
          const result = outcomes[at]!
          if (result.kind === 'failed') ran.reject(result.error)
          else ran.reject(classifySqliteError(outcome.raw, 'running a write batched with this one, after which SQLite rolled the shared transaction back; nothing of it was written'))
        })
        return
      }
    }

    try {
      this.#connection.exec('COMMIT')
    } catch (error) {
      // COMMIT failed (I/O error, disk full, or a lock in rollback-journal mode): nothing was written.
      const rollbackError = this.#tryRollBack()
      batch.forEach((turn, at) => {
        const result = outcomes[at]!
        if (result.kind === 'failed') return turn.reject(result.error)
        const classified = classifySqliteError(error, 'committing a write transaction')
        turn.reject(rollbackError === undefined ? classified : attachRollbackError(classified, rollbackError))
      })
      return
    }
    this.#contention.committed()
    batch.forEach((turn, at) => {
      const result = outcomes[at]!
      if (result.kind === 'failed') turn.reject(result.error)
      else turn.resolve(result.value)
    })
    this.#checkpointBetweenWriters()
    this.#keepWalBounded()
  }

  /**
   * While other processes write too: every `checkpointEvery` commits of this process, a RESTART
   * checkpoint right after COMMIT. It starts within microseconds of the lock's release, so it takes
   * the writer lock before the other processes' polls do, and copies the WAL with writers held off:
   * the next writer then rewinds the WAL, and commits keep overwriting the same file pages (one
   * cheap fsync each) instead of growing it. SQLite's automatic checkpoint cannot: it runs inside
   * COMMIT after the lock is released, PASSIVE, while the next writer is already appending.
   */
  #checkpointBetweenWriters(): void {
    if (this.#options.checkpointEvery === 0 || !this.#contention.othersAround()) return
    if (++this.#commitsSinceCheckpoint < this.#options.checkpointEvery) return
    this.#commitsSinceCheckpoint = 0
    this.#policyBusyTimeoutMs ??= readBusyTimeout(this.#connection)
    this.#connection.exec('PRAGMA busy_timeout = 0')
    try {
      this.#connection.exec('PRAGMA wal_checkpoint(RESTART)')
    } catch {
      // Another checkpoint ran, or a writer won the lock: SQLite's automatic checkpoint remains.
    } finally {
      this.#connection.exec(`PRAGMA busy_timeout = ${this.#policyBusyTimeoutMs}`)
    }
  }

  /**
   * After a commit (the callers are already settled; the connection is still this turn's; the size
   * is looked at every `walCheckEveryCommits` commits): when the -wal file has grown past `walCeiling` times the configured checkpoint size, run a TRUNCATE
   * checkpoint. SQLite's automatic checkpoint is PASSIVE and runs after COMMIT has released the
   * write lock, so a writer polling at millisecond scale can start appending while it runs; the WAL
   * then never rewinds and grows (sqlite-wal-facts.md §4). A TRUNCATE checkpoint holds new writers
   * off while it copies, then empties the file. It polls for the writer lock like BEGIN does, for
   * one 5 ms slice; if it cannot finish (a writer won every try, or a reader holds an old
   * snapshot), it is tried again 10 commits later.
   */
  #keepWalBounded(): void {
    if (this.#options.walCeiling === 0) return
    if (this.#commitsBeforeWalCheck > 0) return void this.#commitsBeforeWalCheck--
    this.#walLimit ??= readWalLimit(this.#connection)
    if (this.#walLimit.bytes === 0) return
    const size = statSync(this.#walLimit.path, { throwIfNoEntry: false })?.size ?? 0
    if (size <= this.#walLimit.bytes * this.#options.walCeiling) {
      // Under the ceiling: look again a few commits later, not after every commit (a stat each).
      this.#commitsBeforeWalCheck = walCheckEveryCommits - 1
      return
    }
    this.#policyBusyTimeoutMs ??= readBusyTimeout(this.#connection)
    let truncated = false
    this.#connection.exec('PRAGMA busy_timeout = 0')
    try {
      // The checkpoint competes for the writer lock the way BEGIN does, by polling: in SQLite's busy
      // handler (sleeps of 1, 2, 5, 10 ... ms) it would lose every time to the other processes' polls.
      // It polls at the shortest pause from the start, as long-waiting waiters do, for one slice only.
      const sliceEnd = performance.now() + lockPollSliceMs
      for (;;) {
        truncated = checkpointTruncate(this.#connection)
        if (truncated || performance.now() >= sliceEnd) break
        sleep(minimumPauseMs)
      }
    } catch {
      // A checkpoint that fails changes nothing; the WAL is checked again after later commits.
    } finally {
      this.#connection.exec(`PRAGMA busy_timeout = ${this.#policyBusyTimeoutMs}`)
    }
    if (!truncated) this.#commitsBeforeWalCheck = walRecheckAfterCommits
  }

  /**
   * Runs one turn's callback in the open transaction, inside `savepoint` when given. Never throws
   * for the callback's failure: it is rolled back (to the savepoint, or the whole transaction) and
   * returned.
   */
  async #runTurn(turn: Turn<DB, unknown>, connection: Kysely<DB>, savepoint: string | undefined): Promise<TurnOutcome> {
    if (savepoint) this.#connection.exec(`SAVEPOINT ${savepoint}`)
    const guard = new TransactionGuard()
    const trx = connection.withPlugin(guard)
    try {
      const value = await this.#withTimeout(
        Promise.resolve(currentTurn.run({ queue: this, trx, guard, nestedTail: Promise.resolve() }, () => turn.fn(trx))),
        turn.timeoutMs,
        guard,
      )
      if (savepoint) this.#connection.exec(`RELEASE ${savepoint}`)
      return { kind: 'done', value }
    } catch (error) {
      guard.end()
      const classified = classifySqliteError(error, 'running a write transaction')
      const reported = savepoint ? this.#rollBackTo(savepoint, classified) : this.#rollBack(classified)
      return { kind: 'failed', error: reported, raw: error }
    }
  }

  /** Waits for the callback, but no longer than the transaction timeout. */
  async #withTimeout<T>(work: Promise<T>, timeoutMs: number, guard: TransactionGuard): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        guard.timeOut()
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
    const rollbackError = this.#tryRollBack()
    return rollbackError === undefined ? original : attachRollbackError(original, rollbackError)
  }

  /** ROLLBACK; returns why it failed (classified), or undefined when it worked. */
  #tryRollBack(): unknown {
    try {
      this.#connection.exec('ROLLBACK')
      return undefined
    } catch (rollbackError) {
      // SQLite rolls back by itself after some errors (SQLITE_IOERR, SQLITE_FULL, ...), and ROLLBACK
      // then fails with "no transaction is active". If a transaction is somehow still open, try once
      // more so the next turn does not start inside it.
      this.#abandonTransaction()
      return classifySqliteError(rollbackError, 'rolling back a failed write transaction')
    }
  }

  /** Rolls back to `savepoint` (only this turn's writes) and returns the error its caller should see. */
  #rollBackTo(savepoint: string, original: unknown): unknown {
    try {
      this.#connection.exec(`ROLLBACK TO ${savepoint}`)
      this.#connection.exec(`RELEASE ${savepoint}`)
      return original
    } catch (rollbackError) {
      // The savepoint is gone: SQLite rolled the whole transaction back. Make sure nothing is left open.
      this.#abandonTransaction()
      return attachRollbackError(original, classifySqliteError(rollbackError, 'rolling back to a savepoint'))
    }
  }

  /** Rolls back whatever transaction is still open on the connection, ignoring failures. */
  #abandonTransaction(): void {
    try {
      if (this.#connection.isOpen && this.#connection.inTransaction) this.#connection.exec('ROLLBACK')
    } catch {
      // Nothing more can be done here; the next BEGIN IMMEDIATE reports what is wrong.
    }
  }

  /**
   * A `run` inside a running callback: a SAVEPOINT in the open transaction. Nested writes started
   * together (`Promise.all([board.createTask(a), board.createTask(b)])`) run one after another, each
   * in its own savepoint, so one's failure rolls back only its own writes. A write nested inside a
   * nested write gets a level of its own and does not wait for its parent.
   */
  async #nested<T>(outer: TurnContext, fn: (trx: Kysely<DB>) => Promise<T> | T): Promise<T> {
    const previous = outer.nestedTail
    let finished!: () => void
    outer.nestedTail = new Promise<void>((resolve) => (finished = resolve))
    await previous
    try {
      if (outer.guard.ended) {
        throw new TransactionTimeout('The write transaction this nested write belongs to is over (it timed out or returned). Nothing was written.')
      }
      const inner: TurnContext = { ...outer, nestedTail: Promise.resolve() }
      return await currentTurn.run(inner, () => this.#inSavepoint(outer.trx as Kysely<DB>, fn))
    } finally {
      finished()
    }
  }

  async #inSavepoint<T>(trx: Kysely<DB>, fn: (trx: Kysely<DB>) => Promise<T> | T): Promise<T> {
    const name = `kanban_db_${++this.#savepoints}`
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
    try {
      this.#connection.exec(`RELEASE ${name}`)
    } catch (error) {
      throw classifySqliteError(error, 'releasing a nested write\'s savepoint')
    }
    return value
  }
}

/** Options of the write path, all optional with documented defaults. */
export interface WriteOptions {
  /**
   * How long a write keeps retrying BEGIN IMMEDIATE while another process holds the write lock,
   * before it fails with `Busy`. Default 30,000 ms.
   */
  readonly busyRetryBudgetMs?: number
  /**
   * How long a `writeTxn` callback may run before it is rolled back with `TransactionTimeout`.
   * Default 30,000 ms.
   */
  readonly transactionTimeoutMs?: number
  /**
   * Group commit: at most this many waiting `writeTxn` calls share one transaction (one fsync under
   * synchronous=FULL), each in its own savepoint. 1 turns group commit off. Default 64.
   */
  readonly maxBatchSize?: number
  /**
   * Step aside after this many commits in a row with no other process committing in between, while
   * another writer was seen in the last 50 ms: pause `yieldMs` before the next BEGIN so the waiting
   * ones get the lock (1: after every commit). While one was seen only in the last 5 s, at most
   * every 8th commit. 0 never steps aside. Default 1.
   */
  readonly yieldAfterCommits?: number
  /** How long to step aside, in ms (the thread sleeps). Default 1. */
  readonly yieldMs?: number
  /**
   * Wait for another process's write lock by kanban-db's own polling (BEGIN IMMEDIATE with
   * busy_timeout 0, retried after 0.2-0.8 ms, less the longer it has waited, down to 0.1 ms, the
   * event loop turning every 5 ms). false leaves the
   * waiting to SQLite's busy handler with the policy's `busy_timeout`, which is neither fair nor
   * bounded and blocks the process while it sleeps (sqlite-wal-facts.md §4). Default true.
   */
  readonly lockPolling?: boolean
  /**
   * After a commit, when the -wal file is larger than this many times the size SQLite's automatic
   * checkpoint aims for (wal_autocheckpoint x page_size), run a TRUNCATE checkpoint, which holds
   * writers off while it copies and then empties the file. 0 never does. Default 2.
   */
  readonly walCeiling?: number
  /**
   * While other processes write too, run a RESTART checkpoint right after every this many commits
   * of this process, before the others take the lock, so the WAL rewinds instead of growing
   * (SQLite's automatic checkpoint runs after the lock is released, while the next writer appends).
   * 0 leaves checkpoints to SQLite. Default 8.
   */
  readonly checkpointEvery?: number
}

/** Options of one `writeTxn` call. */
export interface WriteTxnOptions {
  /** This transaction's timeout, instead of the board's `transactionTimeoutMs`. */
  readonly timeoutMs?: number
  /**
   * May this call share a transaction (and its COMMIT) with other waiting calls, each in its own
   * savepoint? false runs it in a transaction of its own. Default true.
   */
  readonly batch?: boolean
  /**
   * Run ahead of every waiting call without priority, in the next transaction (heartbeats: a lease
   * must not expire behind a queue of other writes). Default false.
   */
  readonly priority?: boolean
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
  maxBatchSize: 64,
  yieldAfterCommits: 1,
  yieldMs: 1,
  lockPolling: true,
  walCeiling: 2,
  checkpointEvery: 8,
})

/** The write options with defaults applied, after checking each is a sensible value. */
export function resolveWriteOptions(options: WriteOptions = {}): Required<WriteOptions> {
  const resolved: { -readonly [K in keyof WriteOptions]-?: WriteOptions[K] } = { ...defaultWriteOptions }
  for (const key of ['busyRetryBudgetMs', 'transactionTimeoutMs', 'yieldMs', 'walCeiling'] as const) {
    const value = options[key]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidInput(`Invalid ${key}: expected a number >= 0, got ${String(value)}.`, { details: { field: key, value } })
    }
    resolved[key] = value
  }
  for (const [key, least] of [['maxBatchSize', 1], ['yieldAfterCommits', 0], ['checkpointEvery', 0]] as const) {
    const value = options[key]
    if (value === undefined) continue
    if (!Number.isInteger(value) || value < least) {
      throw new InvalidInput(`Invalid ${key}: expected a whole number >= ${least}, got ${String(value)}.`, { details: { field: key, value } })
    }
    resolved[key] = value
  }
  if (options.lockPolling !== undefined) {
    if (typeof options.lockPolling !== 'boolean') {
      throw new InvalidInput(`Invalid lockPolling: expected true or false, got ${String(options.lockPolling)}.`, { details: { field: 'lockPolling' } })
    }
    resolved.lockPolling = options.lockPolling
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

/**
 * Sets `Error.stackTraceLimit` to 0; false, changing nothing, when the runtime does not allow it
 * (`node --frozen-intrinsics`, a hardened realm), so the write path works there too.
 */
function turnStackTracesOff(): boolean {
  try {
    Error.stackTraceLimit = 0
    return true
  } catch {
    return false
  }
}

/** How long one slice of polling for a lock held elsewhere may block the event loop. */
const lockPollSliceMs = 5

/** How long after getting the lock from the line a process may take it again without queueing. */
const lineQuantumMs = 5

/** How long a waiter behind others in the line blocks its event loop between turns of it. */
const lineSliceMs = 25

/** The head of the line tries the lock every 0.1-0.2 ms (jittered). */
function headPause(): number {
  return minimumPauseMs + Math.random() * minimumPauseMs
}

/** A waiter behind others reads the line again after 0.5 ms per waiter ahead, at most 4 ms. */
function pauseInLine(ahead: number): number {
  return Math.min(4, 0.5 * ahead)
}


/** Sleeps the thread for `ms` (fractions allowed) without using the CPU. */
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms)
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

/** How many commits pass before an overgrown WAL that could not be truncated is tried again. */
const walRecheckAfterCommits = 10

/**
 * How often the -wal size is looked at while it is under the ceiling: every 4th commit. The file
 * can then pass the ceiling by at most 3 commits' frames (about 130 KB in the bench's claim loop)
 * before the TRUNCATE checkpoint runs.
 */
const walCheckEveryCommits = 4

/**
 * `PRAGMA wal_checkpoint(TRUNCATE)`: true when it finished (SQLite reports busy = 0: every frame
 * copied and the -wal emptied); false when a writer or a reader was in its way.
 */
function checkpointTruncate(connection: SqliteConnection): boolean {
  const statement = connection.prepare('PRAGMA wal_checkpoint(TRUNCATE)')
  try {
    const row = statement.all([])[0]
    return row !== undefined && Number(Object.values(row)[0]) === 0
  } finally {
    statement.finalize()
  }
}

/** Where the connection's -wal file is and how large SQLite's automatic checkpoint lets it get. */
interface WalLimit {
  readonly path: string
  /** wal_autocheckpoint x page_size; 0 when there is no file or automatic checkpoints are off. */
  readonly bytes: number
}

function readWalLimit(connection: SqliteConnection): WalLimit {
  if (connection.path === ':memory:' || connection.path === '') return { path: '', bytes: 0 }
  const read = (pragma: string): number => {
    const statement = connection.prepare(`PRAGMA ${pragma}`)
    try {
      const row = statement.all([])[0]
      return Number(row ? Object.values(row)[0] : 0)
    } finally {
      statement.finalize()
    }
  }
  return { path: `${connection.path}-wal`, bytes: read('wal_autocheckpoint') * read('page_size') }
}

/** The connection's busy_timeout as the open policy set it, to restore after each BEGIN. */
function readBusyTimeout(connection: SqliteConnection): number {
  const statement = connection.prepare('PRAGMA busy_timeout')
  try {
    const row = statement.all([])[0]
    return Number(row ? Object.values(row)[0] : 0)
  } finally {
    statement.finalize()
  }
}

/** One caller waiting in the queue. Settling twice is a no-op. */
class Turn<DB, T> {
  readonly #resolve: (value: T) => void
  readonly #reject: (error: unknown) => void
  #settled = false

  constructor(
    readonly fn: (trx: Kysely<DB>) => Promise<T> | T,
    readonly timeoutMs: number,
    readonly batch: boolean,
    readonly priority: boolean,
    resolve: (value: T) => void,
    reject: (error: unknown) => void,
  ) {
    this.#resolve = resolve
    this.#reject = reject
  }

  resolve(value: T): void {
    if (this.#settled) return
    this.#settled = true
    this.#resolve(value)
  }

  reject(error: unknown): void {
    if (this.#settled) return
    this.#settled = true
    this.#reject(error)
  }
}

/** `busy`: the lock was held elsewhere; `error` is the driver's, not yet classified. */
type AttemptOutcome = { readonly kind: 'settled'; readonly turns: number } | { readonly kind: 'busy'; readonly error: unknown }

type BeginOutcome = { readonly kind: 'begun' } | { readonly kind: 'busy'; readonly error: unknown } | { readonly kind: 'failed'; readonly error: unknown }

type TurnOutcome = { readonly kind: 'done'; readonly value: unknown } | { readonly kind: 'failed'; readonly error: unknown; readonly raw: unknown }

interface TurnContext {
  readonly queue: WriteQueue<never> | WriteQueue<any>
  readonly trx: Kysely<any>
  readonly guard: TransactionGuard
  /** Settles when the last nested write started at this level has finished: they run one by one. */
  nestedTail: Promise<void>
}

/** Which turn the running code belongs to, so nested writes and reads join it. */
const currentTurn = new AsyncLocalStorage<TurnContext>()

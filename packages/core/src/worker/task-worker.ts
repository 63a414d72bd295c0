import type { Board } from '../board/board.js'
import type { ClaimedTask, ClaimOptions, JsonObject, JsonValue } from '../board/types.js'
import { statusLiteral } from '../board/literals.js'
import { InvalidInput, KanbanDbError } from '../errors/errors.js'
import { retryDelayMs } from './backoff.js'
import { IdleGate } from './idle-gate.js'
import { RateLimited, WorkAborted, type WorkAbortKind } from './work-errors.js'
import { validateWorkOptions, type TaskContext, type TaskHandler, type ValidWorkOptions, type WorkOptions, type WorkTask } from './work-options.js'
import { WorkerEvents, type WorkerEventMap, type WorkerListener, type WorkerSummary } from './worker-events.js'

/** The handle `board.work` returns. */
export interface TaskWorker {
  readonly workerId: string
  /** Settles once the worker has stopped (by `stop()`, its `signal`, or a closed board); never rejects. */
  readonly stopped: Promise<WorkerSummary>
  /** Tasks this worker holds right now. */
  readonly running: number
  /**
   * Stops claiming, lets running handlers finish until `timeoutMs` (default the worker's
   * `stopTimeoutMs`), then aborts their signals and releases their tasks (reason `shutdown`: ready
   * again, counting nothing). Resolves like `stopped`. Calling it again with a shorter timeout
   * brings the deadline forward (a second Ctrl-C).
   */
  stop(options?: { readonly timeoutMs?: number }): Promise<WorkerSummary>
  /** Listens to one kind of worker event; returns the unsubscribe. */
  on<E extends keyof WorkerEventMap>(type: E, listener: WorkerListener<E>): () => void
}

/** One task in a handler's hands. */
interface ActiveTask {
  readonly task: ClaimedTask
  abort(kind: WorkAbortKind, message: string): void
}

type Settled = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown }

/** What a run returns when its completion chained a claim that found nothing ready. */
const NOTHING_READY = Symbol('nothing ready')

/** Codes of errors after which the board cannot be used by this worker any more. */
const FATAL_CODES: ReadonlySet<string> = new Set(['BOARD_CLOSED', 'READ_ONLY_BOARD'])
/** Codes of errors a second try cannot change (the call itself is wrong, or the claim is gone). */
const FINAL_CODES: ReadonlySet<string> = new Set(['CLAIM_MISMATCH', 'INVALID_INPUT', 'INVALID_TRANSITION', 'TASK_NOT_FOUND', ...FATAL_CODES])
/** Tries of a completion, failure or release that met a transient error (Busy, a lost connection). */
const PERSIST_TRIES = 3
const MAX_ERROR_TEXT = 16 * 1024
/** The longest backoff or cooldown the board stores (7 days). */
const MAX_WAIT_MS = 7 * 24 * 60 * 60 * 1000
/** The longest stop deadline (a day; also below the 2^31 ms a Node timer can wait). */
const MAX_STOP_TIMEOUT_MS = 24 * 60 * 60 * 1000
/** The shortest sleep of an idle slot waiting for a backoff or due time (clocks of two hosts differ). */
const MIN_IDLE_SLEEP_MS = 10

/**
 * Starts the worker loop of `board.work` (see there). The loop is the library's: it claims,
 * heartbeats, completes (chaining the next claim into the same commit), fails with a backoff,
 * waits for wake-ups while idle and drains on stop.
 */
export function startWorker<Meta extends object, Result>(
  board: Board,
  options: WorkOptions,
  handler: TaskHandler<Meta, Result>,
  rules: WorkerBoardRules = { requireReview: false },
): TaskWorker {
  if (typeof handler !== 'function') {
    throw new TypeError('board.work(options, handler): handler must be a function (task, { signal, heartbeat, attempt }) => result.')
  }
  return new BoardWorker(board, validateWorkOptions(options), handler as unknown as TaskHandler, rules)
}

/** The board's rules the worker follows. */
export interface WorkerBoardRules {
  /** The board requires a review before done: a handler's result is submitted with `requestReview`. */
  readonly requireReview: boolean
}

class BoardWorker implements TaskWorker {
  readonly workerId: string
  readonly stopped: Promise<WorkerSummary>
  readonly #board: Board
  readonly #options: ValidWorkOptions
  readonly #handler: TaskHandler
  readonly #rules: WorkerBoardRules
  readonly #claim: ClaimOptions
  readonly #events = new WorkerEvents()
  readonly #gate = new IdleGate()
  readonly #active = new Set<ActiveTask>()
  readonly #counts = { completed: 0, failed: 0, released: 0, lost: 0, errors: 0 }
  #state: 'running' | 'stopping' | 'stopped' = 'running'
  #idleSlots = 0
  #idleSaid = false
  #deadline: { readonly at: number; readonly timer: NodeJS.Timeout } | undefined
  #fatal: unknown
  /** stop()'s deadline passed: running tasks were aborted, a task still in hand is released. */
  #pastDeadline = false
  #lastReclaimAt = 0
  #unsubscribeWake: (() => void) | undefined
  readonly #onAbort = (): void => void this.stop()
  readonly #pauses = new Set<() => void>()

  constructor(board: Board, options: ValidWorkOptions, handler: TaskHandler, rules: WorkerBoardRules) {
    this.#board = board
    this.#options = options
    this.#handler = handler
    this.#rules = rules
    this.workerId = options.workerId
    this.#claim = {
      workerId: options.workerId,
      leaseMs: options.leaseMs,
      ...(options.assignee !== undefined ? { assignee: options.assignee } : {}),
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    }
    this.#unsubscribeWake = board.onWake(() => this.#gate.wake())
    const slots = Array.from({ length: options.concurrency }, () => this.#slot())
    this.stopped = Promise.all(slots).then(() => this.#finish())
    if (options.signal?.aborted) void this.stop()
    else options.signal?.addEventListener('abort', this.#onAbort, { once: true })
  }

  get running(): number {
    return this.#active.size
  }

  on<E extends keyof WorkerEventMap>(type: E, listener: WorkerListener<E>): () => void {
    return this.#events.on(type, listener)
  }

  stop(options: { readonly timeoutMs?: number } = {}): Promise<WorkerSummary> {
    if (this.#state === 'stopped') return this.stopped
    const timeoutMs = options.timeoutMs ?? this.#options.stopTimeoutMs
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_STOP_TIMEOUT_MS) {
      return Promise.reject(
        new InvalidInput(`Invalid options.timeoutMs of worker.stop: expected ms from 0 to ${MAX_STOP_TIMEOUT_MS}, got ${String(options.timeoutMs)}. The worker was not stopped.`, {
          details: { field: 'options.timeoutMs', value: options.timeoutMs },
        }),
      )
    }
    if (this.#state === 'running') {
      this.#state = 'stopping'
      this.#unsubscribeWake?.()
      this.#unsubscribeWake = undefined
      this.#gate.openForGood()
      for (const wakeUp of [...this.#pauses]) wakeUp()
    }
    const at = Date.now() + timeoutMs
    if (this.#deadline === undefined || at < this.#deadline.at) {
      if (this.#deadline) clearTimeout(this.#deadline.timer)
      this.#deadline = { at, timer: setTimeout(() => this.#deadlinePassed(), timeoutMs) }
    }
    return this.stopped
  }

  // --- the loop ------------------------------------------------------------------------------------

  /** One slot: claims a task, runs it, chains into the next while work is ready, waits while idle. */
  async #slot(): Promise<void> {
    let next: ClaimedTask | typeof NOTHING_READY | undefined
    let errorPauseMs = 0
    for (;;) {
      if (next === NOTHING_READY) {
        // The completion's own chained claim just looked and found nothing: claiming again at once
        // would only repeat that look (on Postgres a write transaction). Wait for work instead.
        next = undefined
        if (this.#state !== 'running') return
        await this.#idle()
      }
      if (next !== undefined) {
        // A task whose claim landed as the worker began to stop (a completion chained it) is in hand:
        // it runs like the others until the deadline; past the deadline it goes straight back.
        next = this.#pastDeadline ? await this.#release(next, 'shutdown').then(() => undefined) : await this.#run(next)
        // On a synchronous driver a chain of quick tasks settles in microtasks only: without a turn
        // of the event loop, timers (heartbeats, deadlines), signals and I/O would wait for the chain.
        await turnOfTheEventLoop()
        continue
      }
      if (this.#state !== 'running') return
      try {
        next = await this.#board.claimNext(this.#claim)
        errorPauseMs = 0
      } catch (error) {
        if (this.#isFatal(error)) return this.#stopFatally(error)
        this.#error(error, 'claim')
        errorPauseMs = Math.min(Math.max(errorPauseMs * 2, 100), 5_000)
        await this.#pause(errorPauseMs)
        continue
      }
      if (next !== undefined) this.#claimed(next, false)
      else await this.#idle()
    }
  }

  #claimed(task: ClaimedTask, chained: boolean): void {
    this.#idleSaid = false
    this.#events.emit('claimed', { task, chained })
    // More may be ready: let one more waiting slot look (it passes the baton on if it finds one).
    if (this.#gate.waiting > 0) this.#gate.wake()
  }

  async #idle(): Promise<void> {
    this.#idleSlots += 1
    try {
      if (!this.#idleSaid && this.#idleSlots === this.#options.concurrency) {
        this.#idleSaid = true
        this.#events.emit('idle', {})
      }
      if (await this.#reclaimIfDue()) return
      await this.#gate.wait(await this.#untilClaimable())
    } finally {
      this.#idleSlots -= 1
    }
  }

  /**
   * Every `reclaimEveryMs` an idle worker takes back claims whose lease ran out (their worker died:
   * without a dispatcher, nobody else would). A cheap read first; `releaseStaleClaims` decides by the
   * board's clock and extends, rather than steals, a claim of a live process of this host that
   * heartbeated recently. True when it took something back (the slot claims again at once).
   */
  async #reclaimIfDue(): Promise<boolean> {
    const every = this.#options.reclaimEveryMs
    if (every === 0 || Date.now() - this.#lastReclaimAt < every) return false
    this.#lastReclaimAt = Date.now()
    try {
      const expired = await this.#board.db
        .selectFrom('tasks')
        .select('id')
        .where('status', 'in', [statusLiteral('running'), statusLiteral('review')])
        .where('claim_expires_at', '<=', Date.now())
        .limit(1)
        .executeTakeFirst()
      if (expired === undefined) return false
      const claims = await this.#board.releaseStaleClaims(undefined, { isAlive: processIsAlive })
      if (claims.length > 0) this.#events.emit('reclaimed', { claims })
      return claims.length > 0
    } catch (error) {
      if (this.#isFatal(error)) this.#stopFatally(error)
      else this.#error(error, 'reclaim')
      return false
    }
  }

  /**
   * How long an idle slot may sleep: until the next retry backoff or due time ends (those announce
   * nothing), at most `pollMs`.
   */
  async #untilClaimable(): Promise<number> {
    const poll = this.#options.pollMs
    try {
      const now = Date.now()
      const [backoff, due] = await Promise.all([
        this.#board.db.selectFrom('tasks').select((eb) => eb.fn.min('not_before').as('at')).where('status', '=', statusLiteral('ready')).where('not_before', '>', now).executeTakeFirst(),
        this.#board.db.selectFrom('tasks').select((eb) => eb.fn.min('due_at').as('at')).where('status', '=', statusLiteral('scheduled')).where('due_at', '>', now).executeTakeFirst(),
      ])
      const next = Math.min(...[backoff?.at, due?.at].filter((at) => at !== null && at !== undefined).map(Number))
      return Number.isFinite(next) ? Math.min(poll, Math.max(MIN_IDLE_SLEEP_MS, next - Date.now() + 1)) : poll
    } catch (error) {
      // Without the due times, look again soon rather than sleep a whole (possibly long) poll.
      this.#error(error, 'wait')
      return Math.min(poll, 1_000)
    }
  }

  /** Runs one task to its end; returns the next task when its completion chained a claim. */
  async #run(task: ClaimedTask): Promise<ClaimedTask | typeof NOTHING_READY | undefined> {
    const startedAt = Date.now()
    const controller = new AbortController()
    let aborted: WorkAbortKind | undefined
    let abandon!: () => void
    const abandoned = new Promise<'abandoned'>((resolve) => (abandon = () => resolve('abandoned')))
    const active: ActiveTask = {
      task,
      abort: (kind, message) => {
        if (aborted !== undefined) return
        aborted = kind
        controller.abort(new WorkAborted(kind, message, { details: { taskId: task.id, workerId: this.workerId } }))
        abandon()
      },
    }
    this.#active.add(active)

    const heartbeat = async (): Promise<void> => {
      try {
        await this.#board.heartbeat(task.id, task.claimToken, { leaseMs: this.#options.leaseMs })
      } catch (error) {
        if (codeOf(error) === 'CLAIM_MISMATCH') active.abort('claim-lost', `The claim on task ${task.id} was lost (its lease ran out and the task was taken back, or it was archived): stop working on it.`)
        throw error
      }
    }
    const heartbeats = setInterval(() => {
      heartbeat().catch((error: unknown) => {
        if (codeOf(error) !== 'CLAIM_MISMATCH') this.#error(error, 'heartbeat', task.id)
      })
    }, this.#options.heartbeatMs)
    const limit = minDefined(this.#options.maxRuntimeMs, task.maxRuntimeMs ?? undefined)
    const overrun =
      limit === undefined
        ? undefined
        : setTimeout(() => active.abort('timeout', `Task ${task.id} ran past its maxRuntimeMs (${limit} ms) and was failed with kind timeout.`), limit)

    let outcome: Settled | 'abandoned'
    try {
      const context: TaskContext = { signal: controller.signal, heartbeat, attempt: task.attempts, runId: task.runId, workerId: this.workerId }
      const settled: Promise<Settled> = Promise.resolve()
        .then(() => this.#handler(task as WorkTask, context))
        .then(
          (value) => ({ ok: true, value }),
          (error: unknown) => ({ ok: false, error }),
        )
      outcome = await Promise.race([settled, abandoned])
      if (outcome === 'abandoned') {
        void settled.then((late) => {
          if (!late.ok && late.error !== controller.signal.reason) this.#error(late.error, 'handler-after-abort', task.id)
        })
      }
    } finally {
      clearInterval(heartbeats)
      if (overrun) clearTimeout(overrun)
      this.#active.delete(active)
    }

    if (outcome === 'abandoned') {
      if (aborted === 'timeout') {
        await this.#fail(task, controller.signal.reason, { kind: 'timeout', timedOut: true })
      } else if (aborted === 'shutdown') {
        await this.#release(task, 'shutdown')
      } else {
        this.#lost(task.id, 'claim-lost')
      }
      return undefined
    }
    if (outcome.ok) return this.#complete(task, outcome.value, startedAt)
    await this.#fail(task, outcome.error, { kind: 'error', timedOut: false })
    return undefined
  }

  async #complete(task: ClaimedTask, value: unknown, startedAt: number): Promise<ClaimedTask | typeof NOTHING_READY | undefined> {
    const result = value as JsonValue | undefined
    const chain = this.#state === 'running' && !this.#rules.requireReview
    try {
      const { completed, next } = await this.#persist('complete', task.id, async () => {
        // A board that requires review gets the result for a reviewer; the task is done once approved.
        if (this.#rules.requireReview) {
          return { completed: await this.#board.requestReview(task.id, task.claimToken, result === undefined ? {} : { result }), next: undefined }
        }
        return chain
          ? this.#board.completeAndClaimNext(task.id, task.claimToken, result, this.#claim)
          : { completed: await this.#board.complete(task.id, task.claimToken, result), next: undefined }
      })
      this.#counts.completed += 1
      this.#events.emit('completed', { task: completed, durationMs: Date.now() - startedAt })
      if (next !== undefined) this.#claimed(next, true)
      return next ?? (chain ? NOTHING_READY : undefined)
    } catch (error) {
      const code = codeOf(error)
      if (code === 'CLAIM_MISMATCH') this.#lost(task.id, 'refused')
      else if (code === 'INVALID_INPUT') {
        // The handler's result cannot be stored (not JSON, or too large): the attempt failed.
        await this.#fail(task, error, { kind: 'error', timedOut: false })
      } else if (this.#isFatal(error)) this.#stopFatally(error, 'complete')
      else {
        this.#error(error, 'complete', task.id)
        await this.#releaseAfterError(task)
      }
      return undefined
    }
  }

  async #fail(task: ClaimedTask, error: unknown, how: { readonly kind: 'error' | 'timeout'; readonly timedOut: boolean }): Promise<void> {
    const rateLimited = error instanceof RateLimited || codeOf(error) === 'RATE_LIMITED'
    const retryAfterMs = rateLimited
      ? Math.min((error as RateLimited).retryAfterMs ?? this.#options.rateLimitCooldownMs, MAX_WAIT_MS)
      : Math.min(retryDelayMs(task.consecutiveFailures + 1, this.#options.retry), MAX_WAIT_MS)
    try {
      const failed = await this.#persist('fail', task.id, () =>
        this.#board.fail(task.id, task.claimToken, describeError(error), { kind: how.kind, rateLimited, retryAfterMs }),
      )
      this.#counts.failed += 1
      this.#events.emit('failed', { task: failed, error, retryAfterMs, rateLimited, timedOut: how.timedOut })
    } catch (failure) {
      if (codeOf(failure) === 'CLAIM_MISMATCH') this.#lost(task.id, 'refused')
      else if (this.#isFatal(failure)) this.#stopFatally(failure, 'fail')
      else {
        this.#error(failure, 'fail', task.id)
        await this.#releaseAfterError(task)
      }
    }
  }

  /**
   * The end of a task could not be written: hand the claim back rather than leave it to its lease
   * (heartbeats have stopped; the task would wait the whole lease before anyone retried it).
   */
  async #releaseAfterError(task: ClaimedTask): Promise<void> {
    try {
      const released = await this.#board.release(task.id, task.claimToken, { reason: 'worker-error' })
      this.#counts.released += 1
      this.#events.emit('released', { task: released, reason: 'worker-error' })
    } catch (error) {
      if (codeOf(error) !== 'CLAIM_MISMATCH') this.#error(error, 'release', task.id)
    }
  }

  async #release(task: ClaimedTask, reason: string): Promise<void> {
    try {
      const released = await this.#persist('release', task.id, () => this.#board.release(task.id, task.claimToken, { reason }))
      this.#counts.released += 1
      this.#events.emit('released', { task: released, reason })
    } catch (error) {
      if (codeOf(error) === 'CLAIM_MISMATCH') this.#lost(task.id, 'refused')
      else this.#error(error, 'release', task.id)
    }
  }

  /** Runs a write that records a task's end, again after a pause when it met a transient error. */
  async #persist<T>(phase: 'complete' | 'fail' | 'release', taskId: string, write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await write()
      } catch (error) {
        const code = codeOf(error)
        if (attempt >= PERSIST_TRIES || (code !== undefined && FINAL_CODES.has(code))) throw error
        this.#error(error, phase, taskId)
        await sleep(100 * 4 ** (attempt - 1))
      }
    }
  }

  // --- stopping ------------------------------------------------------------------------------------

  #deadlinePassed(): void {
    this.#pastDeadline = true
    for (const active of [...this.#active]) {
      active.abort('shutdown', `The worker ${this.workerId} is stopping and its deadline passed: task ${active.task.id} is released (ready again).`)
    }
  }

  #stopFatally(error: unknown, phase: WorkerEventMap['error']['phase'] = 'claim'): void {
    this.#fatal ??= error
    this.#error(error, phase)
    if (this.#state === 'running') void this.stop({ timeoutMs: 0 })
  }

  #finish(): WorkerSummary {
    this.#state = 'stopped'
    if (this.#deadline) clearTimeout(this.#deadline.timer)
    this.#unsubscribeWake?.()
    this.#options.signal?.removeEventListener('abort', this.#onAbort)
    const summary: WorkerSummary = { workerId: this.workerId, ...this.#counts, ...(this.#fatal !== undefined ? { fatal: this.#fatal } : {}) }
    this.#events.emit('stopped', summary)
    return summary
  }

  // --- small things --------------------------------------------------------------------------------

  #lost(taskId: string, kind: WorkAbortKind | 'refused'): void {
    this.#counts.lost += 1
    this.#events.emit('lost', { taskId, kind })
  }

  #error(error: unknown, phase: WorkerEventMap['error']['phase'], taskId?: string): void {
    this.#counts.errors += 1
    this.#events.emit('error', { error, phase, ...(taskId !== undefined ? { taskId } : {}) })
  }

  #isFatal(error: unknown): boolean {
    const code = codeOf(error)
    return code !== undefined && FATAL_CODES.has(code)
  }

  /** Sleeps `ms`, or less when the worker begins to stop. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#pauses.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.#pauses.add(done)
    })
  }
}

/** True while the process `pid` exists on this host (EPERM: it exists, owned by another user). */
function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function codeOf(error: unknown): string | undefined {
  return KanbanDbError.isKanbanDbError(error) ? error.code : undefined
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}

/** The text `fail` stores for a handler's error: its stack (name and message first), else its JSON. */
export function describeError(error: unknown): string {
  let text: string
  if (error instanceof Error) text = error.stack ?? `${error.name}: ${error.message}`
  else if (typeof error === 'string') text = error
  else {
    try {
      text = JSON.stringify(error) ?? String(error)
    } catch {
      text = String(error)
    }
  }
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}...` : text
}

function turnOfTheEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}


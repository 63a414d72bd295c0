import { hostname } from 'node:os'
import { sql, type Kysely } from 'kysely'
import { statusLiteral } from './literals.js'
import { loadTaskIfAny, taskNotFound } from './task-queries.js'
import type { BoardEngine, EngineKind } from '../engine/board-engine.js'
import { BoardClosed, InvalidInput, InvalidTransition } from '../errors/errors.js'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import type { WriteTxnOptions } from '../write/write-transaction.js'
import { startWorker, type TaskWorker } from '../worker/task-worker.js'
import type { TaskHandler, WorkOptions } from '../worker/work-options.js'
import { addAttachmentIn, toAttachment } from './attachments.js'
import type { Board, BoardHealth, CompletedAndClaimed } from './board.js'
import { addCommentIn, toComment } from './comments.js'
import { anyReady, claimNextIn, completeIn, failIn, heartbeatIn, releaseIn, type ValidClaim, type ValidFailure } from './claims.js'
import { createTasksIn, MAX_BATCH, validateTaskInput } from './create-tasks.js'
import { addDependencyIn } from './dependencies.js'
import { claimTaskIn, type ValidTaskClaim } from './claim-task.js'
import { EVENT_KINDS } from './event-kinds.js'
import { deleteTaskIn, pruneEventsIn, reassignIn, reclaimIn, removeDependencyIn } from './recovery.js'
import { runsOf, type RunNotes } from './runs.js'
import type { BoardRules } from './failure-accounting.js'
import { archiveIn, blockIn, unblockIn } from './parking.js'
import { closeTurnEnabled, turnOfTheEventLoop } from './close-turn.js'
import { claimsExpiredBy, ClockAheadGuard, clockGuardsEnabled, clockSkewOf, latestRecordedTime, type ClockSkew } from './clock-guard.js'
import { expiredClaims, extendLiveClaimsIn, overrunningClaimsOf, releaseClaimsIn, releaseExpiredReviewsIn, runningClaimsOf } from './reclaim.js'
import { approveIn, rejectIn, requestReviewIn } from './review.js'
import { acceptIn, promoteDueIn, scheduleIn } from './scheduling.js'
import { ackEventsIn, mayTakeEvents, subscribeIn, takeEventsIn, unsubscribeIn, type SubscriptionScope } from './subscriptions.js'
import { toEvent, toRun, toTask } from './rows.js'
import { TASK_STATUSES, type TaskStatus } from './transitions.js'
import type {
  Attachment, AttachmentInput, BlockOptions, BoardEvent, ClaimedTask, ClaimOptions, ClaimTaskOptions, CommentInput, CompleteOptions, CrashDetectionOptions,
  CreateTaskInput, DeletedTask, EventBatch, EventKind, EventQuery, FailOptions, AttemptFailureKind, JsonObject, JsonValue, OverrunningClaim, PrunedEvents,
  PruneEventsOptions, ReclaimOptions, ReleasedClaim, ReleaseOptions, ReviewRequest, StaleClaimOptions, SubscribeOptions, TakeEventsOptions, Task, TaskComment,
  TaskFilter, TaskRun,
} from './types.js'
import {
  invalid, objectToJson, optionalBoolean, optionalInteger, optionalString, requireId, requireInteger, requireObject, requireStatus, requireString, toJson,
} from './validate.js'

/** Where the crash grace period comes from when `detectCrashedWorkers` is given none. */
export const CRASH_GRACE_ENV = 'KANBAN_DB_CRASH_GRACE_MS'
/** The crash grace period when neither the option nor the environment sets one. */
export const DEFAULT_CRASH_GRACE_MS = 30_000

const MAX_LEASE_MS = 7 * 24 * 60 * 60 * 1000
const MAX_RESULT_BYTES = 1024 * 1024

/** What {@link EngineBoard} is built from (by `openBoard`). */
export interface EngineBoardParts {
  /** The open engine; the board owns it and closes it. */
  readonly engine: BoardEngine
  /**
   * Milliseconds since the epoch for every time the board writes; undefined: the engine's clock
   * (this process's for SQLite, the server's for Postgres).
   */
  readonly clock: (() => number) | undefined
  readonly rules: BoardRules
}

/**
 * The {@link Board} over any {@link BoardEngine}: validates each call at the boundary, then runs
 * the operation (`src/board/*.ts`) in one of the engine's write transactions, or as a read.
 */
export class EngineBoard<Health extends BoardHealth = BoardHealth> implements Board<Health> {
  readonly engine: EngineKind
  readonly location: string
  readonly readonly: boolean
  readonly db: Kysely<BoardSchema>
  readonly #engine: BoardEngine
  readonly #clock: (() => number) | undefined
  readonly #rules: BoardRules
  #closed = false
  #closing: Promise<void> | undefined
  /** Set once close() has stopped this board's workers and closes the engine. */
  #engineClosing = false
  readonly #workers = new Set<TaskWorker>()
  /** Reads (and health()) running now: close() lets them finish before it closes the engine. */
  readonly #reads = new Set<Promise<unknown>>()
  /** False only when the environment turns the clock guards off (to show the hazards in tests). */
  readonly #clockGuards = clockGuardsEnabled()
  readonly #clockAhead = new ClockAheadGuard()

  constructor(parts: EngineBoardParts) {
    this.#engine = parts.engine
    this.engine = parts.engine.kind
    this.location = parts.engine.location
    this.readonly = parts.engine.readonly
    this.db = parts.engine.db
    this.#clock = parts.clock
    this.#rules = parts.rules
  }

  // --- tasks ---------------------------------------------------------------------------------------

  async createTask(input: CreateTaskInput): Promise<Task> {
    const valid = validateTaskInput('input', input)
    const [task] = await this.writeTxn(async (trx) => createTasksIn(trx, [valid], await this.#now(trx)))
    return task!
  }

  async createTasks(inputs: readonly CreateTaskInput[]): Promise<Task[]> {
    if (!Array.isArray(inputs)) throw invalid('inputs', 'expected an array of task inputs', inputs)
    if (inputs.length > MAX_BATCH) throw invalid('inputs', `at most ${MAX_BATCH} tasks per call (got ${inputs.length})`)
    const valid = inputs.map((input, index) => validateTaskInput(`inputs[${index}]`, input))
    if (valid.length === 0) return []
    return this.writeTxn(async (trx) => createTasksIn(trx, valid, await this.#now(trx)))
  }

  async getTask(taskId: string): Promise<Task | undefined> {
    requireId('taskId', taskId)
    const row = await this.#read('reading a task', (db) => loadTaskIfAny(db, taskId))
    return row && toTask(row)
  }

  async listTasks(filter: TaskFilter = {}): Promise<Task[]> {
    requireObject('filter', filter)
    const statuses: TaskStatus[] | undefined =
      filter.status === undefined
        ? undefined
        : (Array.isArray(filter.status) ? filter.status : [filter.status]).map((status: unknown, index: number) => requireStatus(`filter.status[${index}]`, status))
    const assignee = optionalString('filter.assignee', filter.assignee, { max: 200 })
    const tenant = optionalString('filter.tenant', filter.tenant, { max: 200 })
    const limit = optionalInteger('filter.limit', filter.limit, 100, { min: 1, max: 10_000 })
    const offset = optionalInteger('filter.offset', filter.offset, 0, { min: 0, max: Number.MAX_SAFE_INTEGER })
    const rows = await this.#read('listing tasks', (db) => {
      let query = db.selectFrom('tasks').selectAll()
      // Validated statuses as literals: a bound status makes SQLite prepare the statement again on
      // every call (the partial indexes of schema v3 depend on the value).
      if (statuses !== undefined) query = query.where('status', 'in', statuses.length > 0 ? statuses.map(statusLiteral) : [sql<TaskStatus>`'-none-'`])
      if (assignee !== null) query = query.where('assignee', '=', assignee)
      if (tenant !== null) query = query.where('tenant', '=', tenant)
      return query.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit).offset(offset).execute()
    })
    return rows.map(toTask)
  }

  async addDependency(taskId: string, dependsOnId: string): Promise<Task> {
    requireId('taskId', taskId)
    requireId('dependsOnId', dependsOnId)
    return this.writeTxn(async (trx) => addDependencyIn(trx, taskId, dependsOnId, await this.#now(trx)))
  }

  // --- claims --------------------------------------------------------------------------------------

  async claimNext(options: ClaimOptions): Promise<ClaimedTask | undefined> {
    const claim = validateClaim('options', options)
    // Where a write excludes every other writer (SQLite), an idle poller must not take the write
    // lock: a plain read first, and no transaction when nothing is ready. A task that turns ready
    // right after this read is claimed by the next call, exactly as if this call had come a moment
    // earlier. Where writers run concurrently (Postgres), the claim itself is as cheap as that read.
    if (this.#readFirst() && !(await this.#read('looking for ready tasks', async (db) => anyReady(db, claim, await this.#now(db))))) {
      return undefined
    }
    return this.writeTxn(async (trx) => claimNextIn(trx, claim, await this.#now(trx)))
  }

  async claim(taskId: string, options: ClaimTaskOptions): Promise<ClaimedTask> {
    requireId('taskId', taskId)
    const claim = validateTaskClaim('options', options)
    return this.writeTxn(async (trx) => claimTaskIn(trx, taskId, claim, await this.#now(trx)))
  }

  async completeAndClaimNext(taskId: string, claimToken: string, result: JsonValue | undefined, claimOptions: ClaimOptions): Promise<CompletedAndClaimed> {
    requireId('taskId', taskId)
    requireString('claimToken', claimToken, { max: 200 })
    const resultJson = result === undefined ? null : toJson('result', result, MAX_RESULT_BYTES)
    const claim = validateClaim('claim', claimOptions)
    this.#assertCompletable(taskId)
    return this.writeTxn(async (trx) => {
      const now = await this.#now(trx)
      const completed = await completeIn(trx, taskId, claimToken, resultJson, now)
      return { completed, next: await claimNextIn(trx, claim, now) }
    })
  }

  async heartbeat(taskId: string, claimToken: string, options: { readonly leaseMs?: number } = {}): Promise<Task> {
    requireId('taskId', taskId)
    requireString('claimToken', claimToken, { max: 200 })
    requireObject('options', options)
    const leaseMs = options.leaseMs === undefined ? undefined : requireInteger('options.leaseMs', options.leaseMs, { min: 1, max: MAX_LEASE_MS })
    // The priority lane: a heartbeat never waits behind the claims and completions queued here.
    return this.writeTxn(async (trx) => heartbeatIn(trx, taskId, claimToken, leaseMs, await this.#now(trx), this.#clockGuards), { priority: true })
  }

  async complete(taskId: string, claimToken: string, result?: JsonValue, options?: CompleteOptions): Promise<Task> {
    requireId('taskId', taskId)
    requireString('claimToken', claimToken, { max: 200 })
    const resultJson = result === undefined ? null : toJson('result', result, MAX_RESULT_BYTES)
    const notes = options === undefined ? undefined : validateNotes('options', options)
    this.#assertCompletable(taskId)
    return this.writeTxn(async (trx) => completeIn(trx, taskId, claimToken, resultJson, await this.#now(trx), notes))
  }

  async fail(taskId: string, claimToken: string, error: string | Error, options: FailOptions = {}): Promise<Task> {
    requireId('taskId', taskId)
    requireString('claimToken', claimToken, { max: 200 })
    const message = error instanceof Error ? error.message || error.name : error
    requireString('error', message, { min: 0, max: 64 * 1024 })
    requireObject('options', options)
    const kind = options.kind ?? 'error'
    if (!(FAILURE_KINDS as readonly unknown[]).includes(kind)) throw invalid('options.kind', `expected one of ${FAILURE_KINDS.join(', ')}`, kind)
    const failure: ValidFailure = {
      error: message,
      retry: optionalBoolean('options.retry', options.retry, true),
      kind,
      rateLimited: optionalBoolean('options.rateLimited', options.rateLimited, false),
      retryAfterMs: optionalInteger('options.retryAfterMs', options.retryAfterMs, 0, { min: 0, max: MAX_LEASE_MS }),
      notes: validateNotes('options', options),
    }
    return this.writeTxn(async (trx) => failIn(trx, taskId, claimToken, failure, this.#rules, await this.#now(trx)))
  }

  work<Meta extends object = JsonObject, Result = JsonValue | void>(options: WorkOptions, handler: TaskHandler<Meta, Result>): TaskWorker {
    this.#assertOpen()
    // close() is stopping this board's workers: a worker started now would not be among them.
    if (this.#closing) throw new BoardClosed(`The board ${this.location} is closing. Open it again with openBoard to start a worker.`, { details: { location: this.location } })
    const worker = startWorker(this, options, handler, { requireReview: this.#rules.requireReview })
    this.#workers.add(worker)
    void worker.stopped.then(() => this.#workers.delete(worker))
    return worker
  }

  async release(taskId: string, claimToken: string, options: ReleaseOptions = {}): Promise<Task> {
    requireId('taskId', taskId)
    requireString('claimToken', claimToken, { max: 200 })
    requireObject('options', options)
    const reason = options.reason === undefined ? 'released' : requireString('options.reason', options.reason, { max: 200 })
    const retryAfterMs = optionalInteger('options.retryAfterMs', options.retryAfterMs, 0, { min: 0, max: MAX_LEASE_MS })
    return this.writeTxn(async (trx) => releaseIn(trx, taskId, claimToken, reason, retryAfterMs, await this.#now(trx)))
  }

  async block(taskId: string, reason: string, options: BlockOptions = {}): Promise<Task> {
    requireId('taskId', taskId)
    requireString('reason', reason, { max: 10_000 })
    requireObject('options', options)
    const claimToken = options.claimToken === undefined ? undefined : requireString('options.claimToken', options.claimToken, { max: 200 })
    const kind = optionalString('options.kind', options.kind, { max: 100 })
    const dependsOn = options.dependsOn ?? []
    if (!Array.isArray(dependsOn)) throw invalid('options.dependsOn', 'expected an array of task ids', dependsOn)
    if (dependsOn.length > 0 && kind !== 'dependency') throw invalid('options.dependsOn', "only a block of kind 'dependency' adds dependencies")
    const dependencies = dependsOn.map((id, index) => requireId(`options.dependsOn[${index}]`, id))
    return this.writeTxn(async (trx) => blockIn(trx, taskId, { reason, claimToken, kind, dependsOn: dependencies }, await this.#now(trx)))
  }

  // --- operators' recovery -------------------------------------------------------------------------

  async reassign(taskId: string, assignee: string | null, options: { readonly reason?: string } = {}): Promise<Task> {
    requireId('taskId', taskId)
    const to = assignee === null ? null : requireString('assignee', assignee, { max: 200 })
    requireObject('options', options)
    const reason = optionalString('options.reason', options.reason, { max: 10_000 })
    return this.writeTxn(async (trx) => reassignIn(trx, taskId, to, reason, await this.#now(trx)))
  }

  async reclaim(taskId: string, reason: string, options: ReclaimOptions = {}): Promise<Task> {
    requireId('taskId', taskId)
    requireString('reason', reason, { max: 10_000 })
    requireObject('options', options)
    const retryAfterMs = optionalInteger('options.retryAfterMs', options.retryAfterMs, 0, { min: 0, max: MAX_LEASE_MS })
    return this.writeTxn(async (trx) => reclaimIn(trx, taskId, reason, retryAfterMs, await this.#now(trx)))
  }

  async removeDependency(taskId: string, dependsOnId: string): Promise<Task> {
    requireId('taskId', taskId)
    requireId('dependsOnId', dependsOnId)
    if (taskId === dependsOnId) throw invalid('dependsOnId', `a task never depends on itself (${taskId})`, dependsOnId)
    return this.writeTxn(async (trx) => removeDependencyIn(trx, taskId, dependsOnId, await this.#now(trx)))
  }

  async deleteTask(taskId: string): Promise<DeletedTask> {
    requireId('taskId', taskId)
    return this.writeTxn(async (trx) => deleteTaskIn(trx, taskId, await this.#now(trx)))
  }

  async pruneEvents(options: PruneEventsOptions): Promise<PrunedEvents> {
    requireObject('options', options)
    const olderThanMs = options.olderThanMs === undefined ? undefined : requireInteger('options.olderThanMs', options.olderThanMs, { min: 0, max: 100 * 365 * 24 * 60 * 60 * 1000 })
    const keepLatest = options.keepLatest === undefined ? undefined : requireInteger('options.keepLatest', options.keepLatest, { min: 0, max: Number.MAX_SAFE_INTEGER })
    if (olderThanMs === undefined && keepLatest === undefined) throw invalid('options', 'give olderThanMs, keepLatest or both (what to keep)', options)
    return this.writeTxn(async (trx) => pruneEventsIn(trx, { olderThanMs, keepLatest }, await this.#now(trx)))
  }

  async runs(taskId: string): Promise<TaskRun[]> {
    requireId('taskId', taskId)
    return this.#read('reading runs', async (db) => {
      const task = await loadTaskIfAny(db, taskId)
      if (task === undefined) throw taskNotFound(taskId)
      return (await runsOf(db, taskId)).map((row) => toRun(row, task.result))
    })
  }

  async unblock(taskId: string): Promise<Task> {
    requireId('taskId', taskId)
    return this.writeTxn(async (trx) => unblockIn(trx, taskId, await this.#now(trx)))
  }

  async archive(taskId: string): Promise<Task> {
    requireId('taskId', taskId)
    return this.writeTxn(async (trx) => archiveIn(trx, taskId, await this.#now(trx)))
  }

  async accept(taskId: string): Promise<Task> {
    requireId('taskId', taskId)
    return this.writeTxn(async (trx) => acceptIn(trx, taskId, await this.#now(trx)))
  }

  async schedule(taskId: string, dueAt: number): Promise<Task> {
    requireId('taskId', taskId)
    requireInteger('dueAt', dueAt, { min: 0, max: Number.MAX_SAFE_INTEGER })
    return this.writeTxn(async (trx) => scheduleIn(trx, taskId, dueAt, await this.#now(trx)))
  }

  async promoteScheduled(now?: number): Promise<string[]> {
    const at = now === undefined ? await this.#now() : requireInteger('now', now, { min: 0, max: Number.MAX_SAFE_INTEGER })
    return this.writeTxn((trx) => promoteDueIn(trx, at))
  }

  // --- review --------------------------------------------------------------------------------------

  async requestReview(taskId: string, claimToken: string, request: ReviewRequest = {}): Promise<Task> {
    requireId('taskId', taskId)
    requireString('claimToken', claimToken, { max: 200 })
    requireObject('request', request)
    const summary = optionalString('request.summary', request.summary, { min: 0, max: 100_000 })
    const resultJson = request.result === undefined ? null : toJson('request.result', request.result, MAX_RESULT_BYTES)
    return this.writeTxn(async (trx) => requestReviewIn(trx, taskId, claimToken, summary, resultJson, await this.#now(trx)))
  }

  async approve(taskId: string, reviewToken: string, options: { readonly comment?: string } = {}): Promise<Task> {
    requireId('taskId', taskId)
    requireString('reviewToken', reviewToken, { max: 200 })
    requireObject('options', options)
    const comment = optionalString('options.comment', options.comment, { max: 100_000 })
    return this.writeTxn(async (trx) => approveIn(trx, taskId, reviewToken, comment, await this.#now(trx)))
  }

  async reject(taskId: string, reviewToken: string, reasons: string): Promise<Task> {
    requireId('taskId', taskId)
    requireString('reviewToken', reviewToken, { max: 200 })
    requireString('reasons', reasons, { max: 64 * 1024 })
    return this.writeTxn(async (trx) => rejectIn(trx, taskId, reviewToken, reasons, this.#rules, await this.#now(trx)))
  }

  // --- comments ------------------------------------------------------------------------------------

  async addComment(taskId: string, comment: CommentInput): Promise<TaskComment> {
    requireId('taskId', taskId)
    requireObject('comment', comment)
    const body = requireString('comment.body', comment.body, { max: 100_000 })
    const author = optionalString('comment.author', comment.author, { max: 200 })
    return this.writeTxn(async (trx) => addCommentIn(trx, taskId, body, author, await this.#now(trx)))
  }

  async comments(taskId: string): Promise<TaskComment[]> {
    requireId('taskId', taskId)
    const rows = await this.#read('reading comments', (db) =>
      db.selectFrom('comments').selectAll().where('task_id', '=', taskId).orderBy('seq').orderBy('created_at').orderBy('id').execute(),
    )
    return rows.map(toComment)
  }

  async addAttachment(taskId: string, attachment: AttachmentInput): Promise<Attachment> {
    requireId('taskId', taskId)
    requireObject('attachment', attachment)
    const sha256 = optionalString('attachment.sha256', attachment.sha256, { min: 64, max: 64 })
    if (sha256 !== null && !/^[0-9a-f]{64}$/.test(sha256)) throw invalid('attachment.sha256', 'expected 64 lowercase hex digits', sha256)
    const valid = {
      name: requireString('attachment.name', attachment.name, { max: 500 }),
      uri: requireString('attachment.uri', attachment.uri, { max: 4096 }),
      mediaType: optionalString('attachment.mediaType', attachment.mediaType, { max: 200 }),
      sizeBytes:
        attachment.sizeBytes === undefined || attachment.sizeBytes === null
          ? null
          : requireInteger('attachment.sizeBytes', attachment.sizeBytes, { min: 0, max: Number.MAX_SAFE_INTEGER }),
      sha256,
      createdBy: optionalString('attachment.createdBy', attachment.createdBy, { max: 200 }),
    }
    return this.writeTxn(async (trx) => addAttachmentIn(trx, taskId, valid, await this.#now(trx)))
  }

  async attachments(taskId: string): Promise<Attachment[]> {
    requireId('taskId', taskId)
    const rows = await this.#read('reading attachments', (db) =>
      db.selectFrom('attachments').selectAll().where('task_id', '=', taskId).orderBy('seq').orderBy('created_at').orderBy('id').execute(),
    )
    return rows.map(toAttachment)
  }

  // --- reclaiming ----------------------------------------------------------------------------------

  async releaseStaleClaims(now?: number, options: StaleClaimOptions = {}): Promise<ReleasedClaim[]> {
    const at = now === undefined ? await this.#now() : requireInteger('now', now, { min: 0, max: Number.MAX_SAFE_INTEGER })
    requireObject('options', options)
    if (options.isAlive !== undefined && typeof options.isAlive !== 'function') throw invalid('options.isAlive', 'expected a function (pid) => boolean')
    const host = options.host === undefined ? hostname() : requireString('options.host', options.host, { max: 255 })
    const recent =
      options.recentHeartbeatMs === undefined ? undefined : requireInteger('options.recentHeartbeatMs', options.recentHeartbeatMs, { min: 0, max: MAX_LEASE_MS })
    // Ask isAlive outside any write transaction (it may be slow); each claim is re-checked inside it.
    const alive: TaskRow[] = []
    if (options.isAlive !== undefined) {
      const expired = await this.#read('reading expired claims', (db) => expiredClaims(db, at))
      for (const task of expired) {
        const window = recent ?? 2 * Number(task.lease_ms ?? 0)
        const beatRecently = task.heartbeat_at !== null && Number(task.heartbeat_at) >= at - window
        if (task.worker_host === host && task.worker_pid !== null && beatRecently && (await options.isAlive(Number(task.worker_pid)))) alive.push(task)
      }
    }
    // The board's own clock is checked against what the board has recorded (see clock-guard.ts); an
    // explicit `now` is taken as given.
    const guarded = now === undefined && this.#clockIsLocal()
    return this.writeTxn(async (trx) => {
      await extendLiveClaimsIn(trx, alive, at)
      const mayRelease = guarded ? this.#clockAhead.mayRelease(await latestRecordedTime(trx), at, await claimsExpiredBy(trx, at)) : () => true
      const expired = await expiredClaims(trx, at, { lock: true })
      const released = await releaseClaimsIn(trx, expired, 'expired', at, (current) => Number(current.claim_expires_at) <= at && mayRelease(current), this.#rules)
      return [...released, ...(await releaseExpiredReviewsIn(trx, at, mayRelease))]
    })
  }

  async overrunningClaims(now?: number): Promise<OverrunningClaim[]> {
    const at = now === undefined ? await this.#now() : requireInteger('now', now, { min: 0, max: Number.MAX_SAFE_INTEGER })
    return this.#read('reading overrunning claims', (db) => overrunningClaimsOf(db, at))
  }

  async detectCrashedWorkers(options: CrashDetectionOptions): Promise<ReleasedClaim[]> {
    requireObject('options', options)
    if (typeof options.isAlive !== 'function') throw invalid('options.isAlive', 'expected a function (pid) => boolean')
    const graceMs = options.graceMs === undefined ? graceFromEnvironment() : requireInteger('options.graceMs', options.graceMs, { min: 0, max: MAX_LEASE_MS })
    const host = options.host === undefined ? hostname() : requireString('options.host', options.host, { max: 255 })
    const now = options.now === undefined ? await this.#now() : requireInteger('options.now', options.now, { min: 0, max: Number.MAX_SAFE_INTEGER })
    const claimedBy = now - graceMs
    // Ask isAlive outside any write transaction (it may be slow), then re-check each claim inside it.
    const candidates = await this.#read('reading running claims', (db) => runningClaimsOf(db, host, claimedBy))
    const dead: TaskRow[] = []
    for (const task of candidates) {
      if (task.worker_pid !== null && !(await options.isAlive(Number(task.worker_pid)))) dead.push(task)
    }
    if (dead.length === 0) return []
    return this.writeTxn((trx) => releaseClaimsIn(trx, dead, 'crashed', now, (current) => Number(current.claimed_at) <= claimedBy, this.#rules))
  }

  async events(query: EventQuery = {}): Promise<BoardEvent[]> {
    requireObject('query', query)
    const afterId = optionalInteger('query.afterId', query.afterId, 0, { min: 0, max: Number.MAX_SAFE_INTEGER })
    const limit = optionalInteger('query.limit', query.limit, 100, { min: 1, max: 10_000 })
    const taskId = query.taskId === undefined ? undefined : requireId('query.taskId', query.taskId)
    const rows = await this.#read('reading events', (db) => {
      let select = db.selectFrom('events').selectAll().where('id', '>', afterId)
      if (taskId !== undefined) select = select.where('task_id', '=', taskId)
      return select.orderBy('id', 'asc').limit(limit).execute()
    })
    return rows.map(toEvent)
  }

  async subscribe(subscriber: string, options: SubscribeOptions = {}): Promise<number> {
    requireString('subscriber', subscriber, { max: 200 })
    requireObject('options', options)
    const from = options.from ?? 'start'
    if (from !== 'start' && from !== 'now') throw invalid('options.from', "expected 'start' or 'now'", from)
    const scope: SubscriptionScope = {
      taskId: options.taskId === undefined ? null : requireId('options.taskId', options.taskId),
      kindsJson: options.kinds === undefined ? null : JSON.stringify(validateKinds('options.kinds', options.kinds)),
    }
    this.#assertCursorOutsideWrite('subscribe')
    return this.writeTxn(async (trx) => subscribeIn(trx, subscriber, from === 'now', await this.#now(trx), scope))
  }

  async unsubscribe(subscriber: string): Promise<boolean> {
    requireString('subscriber', subscriber, { max: 200 })
    return this.writeTxn((trx) => unsubscribeIn(trx, subscriber))
  }

  async takeEvents(subscriber: string, options: TakeEventsOptions): Promise<EventBatch | undefined> {
    requireString('subscriber', subscriber, { max: 200 })
    requireObject('options', options)
    const limit = optionalInteger('options.limit', options.limit, 100, { min: 1, max: 10_000 })
    const leaseMs = requireInteger('options.leaseMs', options.leaseMs, { min: 1, max: 24 * 60 * 60 * 1000 })
    this.#assertCursorOutsideWrite('takeEvents')
    // Like claimNext: an idle or waiting notifier answers from a plain read, without the write lock.
    if (this.#readFirst() && !(await this.#read('looking for new events', async (db) => mayTakeEvents(db, subscriber, await this.#now(db))))) {
      return undefined
    }
    return this.writeTxn(async (trx) => takeEventsIn(trx, subscriber, limit, leaseMs, await this.#now(trx)))
  }

  async ackEvents(subscriber: string, leaseToken: string): Promise<number> {
    requireString('subscriber', subscriber, { max: 200 })
    requireString('leaseToken', leaseToken, { max: 200 })
    return this.writeTxn(async (trx) => ackEventsIn(trx, subscriber, leaseToken, await this.#now(trx)))
  }

  // --- the write path and the file -----------------------------------------------------------------

  async writeTxn<T>(fn: (trx: Kysely<BoardSchema>) => Promise<T> | T, options?: WriteTxnOptions): Promise<T> {
    this.#assertOpen()
    return this.#engine.writeTxn(fn, options)
  }

  async health(): Promise<Health> {
    this.#assertOpen()
    return this.#track(async () => {
      try {
        return await this.#health()
      } catch (error) {
        throw this.#closedUnder(error, 'health()')
      }
    })
  }

  async #health(): Promise<Health> {
    const counts = await this.#read('reading board health', (db) =>
      db.selectFrom('tasks').select((eb) => ['status', eb.fn.countAll<number>().as('count')]).groupBy('status').execute(),
    )
    const tasks = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>
    for (const { status, count } of counts) tasks[status as TaskStatus] = Number(count)
    const engineFacts = await this.#engine.health()
    const base: BoardHealth = {
      engine: this.engine,
      location: this.location,
      readonly: this.readonly,
      schemaVersion: await this.#engine.schemaVersion(),
      tasks,
      write: this.#engine.writeOptions,
      clockSkew: await this.#clockSkew(),
    }
    return { ...engineFacts, ...base } as Health
  }

  onWake(listener: () => void): () => void {
    this.#assertOpen()
    if (typeof listener !== 'function') throw invalid('listener', 'expected a function () => void')
    return this.#engine.onWake(listener)
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      // The board's own workers first: their running tasks are released while the board is open.
      await Promise.allSettled([...this.#workers].map((worker) => worker.stop({ timeoutMs: 0 })))
      this.#engineClosing = true
      // Reads already running finish first (new ones are refused from here on with BoardClosed).
      await Promise.allSettled([...this.#reads])
      try {
        await this.#engine.close()
      } finally {
        this.#closed = true
      }
      // One turn of the event loop, so a driver's finalizers queued for it run (see close-turn.ts).
      if (closeTurnEnabled()) await turnOfTheEventLoop()
    })()
    return this.#closing
  }

  /** Throws `BoardClosed` once the board is closed (for an engine's own board subclass). */
  protected assertOpen(): void {
    this.#assertOpen()
  }

  /**
   * Milliseconds since the epoch: the board's injected clock, else the engine's. Inside a write pass
   * its `trx`, so a server answers from within the transaction.
   */
  async #now(db?: Kysely<BoardSchema>): Promise<number> {
    if (this.#clock !== undefined) return this.#clock()
    return this.#engine.now(db ?? this.#engine.currentTransaction() ?? this.db)
  }

  /**
   * True when this board's times come from this process (SQLite, or a `clock` option), so another
   * process may read another time; false on a server's clock, which every client shares.
   */
  #clockIsLocal(): boolean {
    return this.#clockGuards && (this.#clock !== undefined || !this.#engine.capabilities.serverClock)
  }

  /** `health().clockSkew`: this board's clock against what the board has recorded (null on a server's clock). */
  async #clockSkew(): Promise<ClockSkew | null> {
    if (!this.#clockIsLocal()) return null
    const now = await this.#now()
    return (await this.#read('comparing the clock with the board', async (db) => clockSkewOf(await latestRecordedTime(db), now, await claimsExpiredBy(db, now)))) ?? null
  }

  /** A read, inside the caller's write transaction when there is one (else it would wait for it). */
  async #read<T>(doing: string, query: (db: Kysely<BoardSchema>) => Promise<T>): Promise<T> {
    this.#assertOpen()
    return this.#track(async () => {
      try {
        return await query(this.#engine.currentTransaction() ?? this.db)
      } catch (error) {
        throw this.#closedUnder(error, doing)
      }
    })
  }

  /** Runs `call`, which close() waits for before it closes the engine (a driver may never answer a query pending at close). */
  async #track<T>(call: () => Promise<T>): Promise<T> {
    const running = call()
    this.#reads.add(running)
    try {
      return await running
    } finally {
      this.#reads.delete(running)
    }
  }

  /**
   * What to throw for `error` from a call that started on an open board: `BoardClosed` (the driver's
   * error as its cause) when the board closed under it, else the engine's classification.
   */
  #closedUnder(error: unknown, doing: string): unknown {
    if ((this.#closed || this.#engineClosing) && !(error instanceof BoardClosed)) {
      return new BoardClosed(`The board ${this.location} was closed while ${doing} ran. Open it again with openBoard, and close it only after its calls have finished.`, {
        cause: error,
        details: { location: this.location },
      })
    }
    return this.#engine.classify(error, doing)
  }

  /**
   * On Postgres (server or PGlite) an event gets its final id at COMMIT: inside a write, the events
   * it appended still carry temporary ids (they would be delivered again under their final ids), and
   * another writer's event may be committing with a lower one (a cursor taken there could pass it).
   * So cursors are taken outside writes there.
   */
  #assertCursorOutsideWrite(call: string): void {
    if (this.#engine.kind !== 'postgres' || this.#engine.currentTransaction() === undefined) return
    throw new InvalidInput(
      `${call} cannot run inside writeTxn on the ${this.engine} engine: event ids are final only once their transaction commits, so a cursor taken ` +
        `inside a write could skip an event. Call ${call} after the write. Nothing was written.`,
      { details: { call } },
    )
  }

  /** Should a call that may find nothing to do look with a plain read before it takes the write lock? */
  #readFirst(): boolean {
    return !this.#engine.capabilities.concurrentWriters && this.#engine.currentTransaction() === undefined
  }

  /** Under the board rule "require review before done", only `approve` makes a task done. */
  #assertCompletable(taskId: string): void {
    if (!this.#rules.requireReview) return
    throw new InvalidTransition(
      `Cannot complete task ${taskId}: this board requires a review before done. Call requestReview with the claim token; ` +
        'a reviewer approves it. The task was not changed.',
      { details: { taskId, action: 'complete', rule: 'requireReview' } },
    )
  }

  #assertOpen(): void {
    // Board calls inside a write that was queued before close() still run: close() waits for it.
    if (this.#engineClosing && !this.#closed && this.#engine.currentTransaction() !== undefined) return
    if (this.#closed || this.#engineClosing) throw new BoardClosed(`The board ${this.location} is closed. Open it again with openBoard.`, { details: { location: this.location } })
  }
}

const FAILURE_KINDS: readonly AttemptFailureKind[] = ['error', 'spawn', 'timeout']

function validateClaim(field: string, options: ClaimOptions): ValidClaim {
  requireObject(field, options)
  const role = options.role ?? 'work'
  if (role !== 'work' && role !== 'review') throw invalid(`${field}.role`, "expected 'work' or 'review'", role)
  return {
    workerId: requireString(`${field}.workerId`, options.workerId, { max: 200 }),
    pid: options.pid === undefined ? process.pid : requireInteger(`${field}.pid`, options.pid, { min: 1, max: 2 ** 31 - 1 }),
    host: options.host === undefined ? hostname() : requireString(`${field}.host`, options.host, { max: 255 }),
    leaseMs: requireInteger(`${field}.leaseMs`, options.leaseMs, { min: 1, max: MAX_LEASE_MS }),
    assignee: options.assignee === undefined ? undefined : optionalString(`${field}.assignee`, options.assignee, { max: 200 }),
    role,
    tenant: options.tenant === undefined ? undefined : requireString(`${field}.tenant`, options.tenant, { max: 200 }),
  }
}

function validateTaskClaim(field: string, options: ClaimTaskOptions): ValidTaskClaim {
  requireObject(field, options)
  return {
    workerId: requireString(`${field}.workerId`, options.workerId, { max: 200 }),
    pid: options.pid === undefined ? process.pid : requireInteger(`${field}.pid`, options.pid, { min: 1, max: 2 ** 31 - 1 }),
    host: options.host === undefined ? hostname() : requireString(`${field}.host`, options.host, { max: 255 }),
    leaseMs: requireInteger(`${field}.leaseMs`, options.leaseMs, { min: 1, max: MAX_LEASE_MS }),
  }
}

/** An attempt's summary and metadata (from `complete`'s or `fail`'s options), checked. */
function validateNotes(field: string, options: { readonly summary?: unknown; readonly metadata?: unknown }): RunNotes | undefined {
  requireObject(field, options)
  const summary = optionalString(`${field}.summary`, options.summary, { min: 0, max: 100_000 })
  const metadataJson = options.metadata === undefined || options.metadata === null ? null : objectToJson(`${field}.metadata`, options.metadata, 64 * 1024)
  return summary === null && metadataJson === null ? undefined : { summary, resultJson: null, metadataJson }
}

/** Event kinds to deliver: 1-50 known kinds, returned sorted and distinct. */
function validateKinds(field: string, kinds: unknown): EventKind[] {
  if (!Array.isArray(kinds)) throw invalid(field, 'expected an array of event kinds', kinds)
  if (kinds.length === 0 || kinds.length > 50) throw invalid(field, `expected 1 to 50 event kinds (got ${kinds.length})`, kinds)
  for (const [index, kind] of kinds.entries()) {
    if (!(EVENT_KINDS as readonly unknown[]).includes(kind)) throw invalid(`${field}[${index}]`, `expected one of ${EVENT_KINDS.join(', ')}`, kind)
  }
  return [...new Set(kinds as EventKind[])].sort()
}

function graceFromEnvironment(): number {
  const raw = process.env[CRASH_GRACE_ENV]
  if (raw === undefined || raw === '') return DEFAULT_CRASH_GRACE_MS
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(CRASH_GRACE_ENV, `expected a whole number of milliseconds >= 0, got ${JSON.stringify(raw)}`)
  return value
}

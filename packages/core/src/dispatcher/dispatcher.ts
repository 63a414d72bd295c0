import { resolve } from 'node:path'
import type { ProcessLock, SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteBoard as Board } from '../sqlite/sqlite-board.js'
import { openSqliteBoard as openBoard } from '../sqlite/open-sqlite-board.js'
import { classifyFailure, type FailureKind } from '../corruption/failure-kind.js'
import { fingerprintFile, sameFingerprint, sameInode, type FileFingerprint } from '../corruption/file-fingerprint.js'
import { probeBoardFile } from '../corruption/probe-board-file.js'
import {
  afterFailedProbe, enterQuarantine, hasStaleWal, quarantineStep, resolveQuarantinePolicy, type QuarantinePolicy,
  type QuarantineRecord,
} from '../corruption/quarantine.js'
import type { CheckpointResult } from '../hygiene/connection-health.js'
import { Corrupt, InvalidInput, KanbanDbError, LockTimeout, StaleSidecar } from '../errors/errors.js'
import {
  EventHub, type DispatcherEvent, type DispatcherEventType, type DispatcherListener,
} from './dispatcher-events.js'
import { isProcessAlive, localHost, newDispatcherId, type DispatcherOptions } from './dispatcher-options.js'
import { defaultExitPolicy, type ExitPolicy } from './exit-policy.js'
import { WorkerTable } from './worker-table.js'
import type { SpawnWorker } from './worker-handle.js'

/** One supervised board as `dispatcher.status()` shows it. */
export interface BoardStatus {
  readonly path: string
  /** `open`; `closed` (not opened yet, or closed after an error: retried next tick); `quarantined`. */
  readonly state: 'open' | 'closed' | 'quarantined'
  /** Workers of this board still running. */
  readonly workers: number
  /** Exits of this board's workers not written yet (its board was closed or quarantined). */
  readonly unrecorded: number
  /** Workers spawned for this board since the dispatcher started. */
  readonly spawned: number
  /** Ticks whose turn on this board was skipped because another dispatcher held its tick lock. */
  readonly skipped: number
  /** The last periodic checkpoint this dispatcher ran on the board (`checkpointEveryMs`). */
  readonly lastCheckpoint?: CheckpointResult
  /** The quarantine, while the board is in it. */
  readonly quarantine?: QuarantineRecord
  /** The last error on this board (cleared by a tick that went through). */
  readonly lastError?: { readonly phase: string; readonly kind: FailureKind; readonly code: string | undefined; readonly message: string; readonly at: number }
}

/** What `dispatcher.status()` returns. */
export interface DispatcherStatus {
  readonly workerId: string
  /** True between `start()` and `stop()`. */
  readonly started: boolean
  readonly stopped: boolean
  /** Ticks run so far. */
  readonly ticks: number
  /** Workers running on all boards. */
  readonly workers: number
  readonly boards: readonly BoardStatus[]
}

/** What `stop()` takes. */
export interface StopOptions {
  /**
   * Wait until every running worker has exited and write their exits before closing. Default false:
   * workers keep running; their claims are picked up by `detectCrashedWorkers` (after the grace
   * window) or by lease expiry in the next dispatcher.
   */
  readonly drain?: boolean
}

interface SupervisedBoard {
  readonly path: string
  board: Board | undefined
  quarantine: QuarantineRecord | undefined
  spawned: number
  skipped: number
  lastError: BoardStatus['lastError']
  /** When the periodic checkpoint last ran, or the board's first turn (`checkpointEveryMs`). */
  lastCheckpointAt: number | undefined
  lastCheckpoint: CheckpointResult | undefined
  /** When the periodic file check last ran (`checkEveryMs`). */
  lastCheckAt: number | undefined
  /** The file the open board was opened on. */
  openedAs: FileFingerprint | undefined
  /** The old file's `-wal`, left when the file was replaced under the open board: never opened beside. */
  staleWal: FileFingerprint | undefined
}

/**
 * Supervises many boards: each tick first reaps exited workers (independent of every board), then
 * visits each board in order — quarantine probe, open, ghost/sidecar check, write pending exits,
 * `releaseStaleClaims`, `detectCrashedWorkers`, heartbeat running claims, claim ready tasks up to
 * the concurrency limit and `spawn` a worker for each. One board's failure never skips another.
 *
 * Failures are classified: a corruption-looking error is confirmed by a fresh read-only probe and
 * only then quarantines the board (closed, never written to, probed with exponential backoff, let
 * out when its file changes or a probe finds it healthy); anything else is reported and retried on
 * the next tick, never latched.
 *
 * Claims arbitrate between dispatchers: a second dispatcher on the same board (a restart overlap)
 * never spawns a task twice.
 */
export class Dispatcher {
  readonly workerId: string
  readonly #adapter: SqliteAdapter
  readonly #spawn: SpawnWorker
  readonly #concurrency: number
  readonly #maxWorkers: number
  readonly #intervalMs: number
  readonly #leaseMs: number
  readonly #heartbeatEveryMs: number
  readonly #graceMs: number | undefined
  readonly #isAlive: (pid: number) => boolean
  readonly #host: string
  readonly #assignee: string | null | undefined
  readonly #exitPolicy: ExitPolicy
  readonly #quarantinePolicy: QuarantinePolicy
  readonly #integrityProbe: boolean
  readonly #checkEveryMs: number | undefined
  readonly #tickLock: boolean
  readonly #checkpointEveryMs: number
  readonly #openBoard: (path: string, adapter: SqliteAdapter) => Promise<Board>
  readonly #now: () => number
  readonly #events: EventHub
  readonly #boards: SupervisedBoard[]
  readonly #workers = new WorkerTable()
  #ticks = 0
  #currentTick: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #started = false
  #stopped = false

  constructor(options: DispatcherOptions) {
    if (!Array.isArray(options.boards) || options.boards.some((path) => typeof path !== 'string' || path.length === 0)) {
      throw new InvalidInput('options.boards: expected an array of board file paths.', { details: { field: 'options.boards' } })
    }
    if (typeof options.spawn !== 'function') {
      throw new InvalidInput('options.spawn: expected a function (task, board) => { pid, exit }.', { details: { field: 'options.spawn' } })
    }
    this.#adapter = options.adapter
    this.#spawn = options.spawn
    this.#concurrency = positive('options.concurrency', options.concurrency ?? 4)
    this.#maxWorkers = positive('options.maxWorkers', options.maxWorkers ?? Number.POSITIVE_INFINITY)
    this.#intervalMs = positive('options.intervalMs', options.intervalMs ?? 1000)
    this.#leaseMs = positive('options.leaseMs', options.leaseMs ?? 300_000)
    this.#heartbeatEveryMs = positive('options.heartbeatEveryMs', options.heartbeatEveryMs ?? Math.max(1, Math.floor(this.#leaseMs / 3)))
    if (this.#heartbeatEveryMs >= this.#leaseMs) {
      throw new InvalidInput(
        `options.heartbeatEveryMs (${this.#heartbeatEveryMs}) must be shorter than options.leaseMs (${this.#leaseMs}), or running workers' claims expire.`,
        { details: { field: 'options.heartbeatEveryMs' } },
      )
    }
    this.#graceMs = options.graceMs
    this.#isAlive = options.isAlive ?? isProcessAlive
    this.#host = options.host ?? localHost()
    this.workerId = options.workerId ?? newDispatcherId(this.#host)
    this.#assignee = options.assignee
    this.#exitPolicy = options.exitPolicy ?? defaultExitPolicy
    this.#quarantinePolicy = resolveQuarantinePolicy(options.quarantine)
    this.#integrityProbe = options.integrityProbe ?? false
    this.#checkEveryMs = options.checkEveryMs === undefined ? undefined : positive('options.checkEveryMs', options.checkEveryMs)
    this.#tickLock = options.tickLock ?? true
    this.#checkpointEveryMs = positive('options.checkpointEveryMs', options.checkpointEveryMs ?? 300_000)
    this.#now = options.now ?? Date.now
    const policy = options.policy
    const now = this.#now
    this.#openBoard = options.openBoard ?? ((path, adapter) => openBoard({ path, adapter, ...(policy ? { policy } : {}), clock: now }))
    this.#events = new EventHub(options.events, (error) =>
      process.emitWarning(`A kanban-db dispatcher event listener threw (ignored): ${messageOf(error)}`, 'KanbanDbDispatcherWarning'),
    )
    const paths = [...new Set(options.boards.map((path) => resolve(path)))]
    this.#boards = paths.map((path) => ({
      path, board: undefined, quarantine: undefined, spawned: 0, skipped: 0, lastError: undefined, lastCheckpointAt: undefined, lastCheckpoint: undefined, lastCheckAt: undefined, openedAs: undefined, staleWal: undefined,
    }))
  }

  /** Listens to one event type; returns a function that removes the listener. */
  on<T extends DispatcherEventType>(type: T, listener: DispatcherListener<T>): () => void {
    return this.#events.on(type, listener)
  }

  /** Starts timer-driven ticks: one now, then one `intervalMs` after each tick ends. */
  start(): void {
    if (this.#stopped) throw new InvalidInput('This dispatcher was stopped; create a new one.')
    if (this.#started) return
    this.#started = true
    this.#schedule(0)
  }

  /**
   * Stops ticking: waits for the running tick to finish, optionally waits for every worker and
   * writes their exits (`drain`), then closes every board connection. Workers are never killed.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    await this.#currentTick
    if (options.drain) {
      await this.#workers.allExited()
      await this.#runTick(true)
    }
    for (const supervised of this.#boards) await this.#closeBoard(supervised)
  }

  /**
   * Runs one tick now and resolves when it has finished. Calls while a tick runs share it (ticks
   * never overlap). Never rejects for a board's failure: those become `error` events.
   */
  tick(): Promise<void> {
    if (this.#currentTick) return this.#currentTick
    if (this.#stopped) return Promise.resolve()
    const running = this.#runTick(false).finally(() => {
      this.#currentTick = undefined
    })
    this.#currentTick = running
    return running
  }

  /** Resolves when any running worker exits (at once if one exited and was not reaped yet). */
  nextWorkerExit(): Promise<void> {
    return this.#workers.nextExit()
  }

  /** Boards, workers and quarantines, for dashboards and tests. */
  status(): DispatcherStatus {
    return {
      workerId: this.workerId,
      started: this.#started && !this.#stopped,
      stopped: this.#stopped,
      ticks: this.#ticks,
      workers: this.#workers.runningCount,
      boards: this.#boards.map((supervised) => ({
        path: supervised.path,
        state: supervised.quarantine ? 'quarantined' : supervised.board ? 'open' : 'closed',
        workers: this.#workers.running(supervised.path).length,
        unrecorded: this.#workers.unrecordedOn(supervised.path).length,
        spawned: supervised.spawned,
        skipped: supervised.skipped,
        ...(supervised.lastCheckpoint ? { lastCheckpoint: supervised.lastCheckpoint } : {}),
        ...(supervised.quarantine ? { quarantine: supervised.quarantine } : {}),
        ...(supervised.lastError ? { lastError: supervised.lastError } : {}),
      })),
    }
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.tick()
        .catch((error: unknown) => this.#reportError(undefined, this.#ticks, 'tick', error))
        .finally(() => {
          if (!this.#stopped) this.#schedule(this.#intervalMs)
        })
    }, delayMs)
  }

  async #runTick(final: boolean): Promise<void> {
    const tick = ++this.#ticks
    const startedAt = this.#now()
    let spawned = 0

    // 1. Reap, before and independent of any board: a board that cannot open never keeps an exited
    //    worker's slot, and every exit is seen.
    const reaped = this.#workers.reap()
    for (const worker of reaped) {
      this.#emit({ type: 'reaped', tick, board: worker.board, taskId: worker.task.id, pid: worker.pid, exit: worker.exit })
    }
    // ... and write the exits to boards that are open now (the others wait for their board's turn).
    for (const supervised of this.#boards) {
      const board = supervised.board
      if (!board || supervised.quarantine || this.#workers.unrecordedOn(supervised.path).length === 0) continue
      try {
        await this.#guard(supervised, tick, 'record', async () => {
          board.checkGhost()
          return this.#recordExits(supervised, tick)
        })
      } catch (error) {
        // #guard handles step errors; this catches a failing confirmation so no board stops the tick.
        this.#reportError(supervised, tick, 'record', error)
      }
    }

    // 2. Each board in order, isolated from the others.
    for (const supervised of this.#boards) {
      try {
        spawned += await this.#visitLocked(supervised, tick, final)
      } catch (error) {
        // #visit handles its own errors; this is a last line so one board can never stop the loop.
        this.#reportError(supervised, tick, 'visit', error)
      }
    }

    this.#emit({
      type: 'tick',
      tick,
      durationMs: this.#now() - startedAt,
      reaped: reaped.length,
      spawned,
      workers: this.#workers.runningCount,
      quarantined: this.#boards.filter((supervised) => supervised.quarantine).length,
    })
  }

  /**
   * One board's turn under its tick lock (`<board>.dispatch-lock`, taken without waiting): while
   * another dispatcher, in any process, runs its turn on the board, this one skips the board this
   * tick (a `skipped` event). The kernel drops a dead holder's lock, so a crashed dispatcher never
   * stops the others. Returns how many workers it spawned.
   */
  async #visitLocked(supervised: SupervisedBoard, tick: number, final: boolean): Promise<number> {
    if (!this.#tickLock) return this.#visit(supervised, tick, final)
    let lock: ProcessLock
    try {
      lock = await this.#adapter.acquireLock(`${supervised.path}.dispatch-lock`, { timeoutMs: 0 })
    } catch (error) {
      if (error instanceof LockTimeout) {
        supervised.skipped += 1
        this.#emit({ type: 'skipped', tick, board: supervised.path, reason: 'locked' })
      } else {
        this.#reportError(supervised, tick, 'lock', error)
      }
      return 0
    }
    try {
      return await this.#visit(supervised, tick, final)
    } finally {
      try {
        lock.release()
      } catch (error) {
        this.#reportError(supervised, tick, 'unlock', error)
      }
    }
  }

  /** One board's turn. Returns how many workers it spawned. */
  async #visit(supervised: SupervisedBoard, tick: number, final: boolean): Promise<number> {
    if (supervised.quarantine && !(await this.#leaveQuarantine(supervised, tick))) return 0
    if (!supervised.board) {
      if (supervised.staleWal && this.#refuseStaleWal(supervised, tick, supervised.staleWal)) return 0
      supervised.staleWal = undefined
      const opened = await this.#guard(supervised, tick, 'open', async () => {
        supervised.board = await this.#openBoard(supervised.path, this.#adapter)
        supervised.openedAs = fingerprintFile(supervised.path)
        return true
      })
      if (!opened) return 0
    }
    const board = supervised.board!
    const ok = await this.#guard(supervised, tick, 'ghost-check', async () => {
      board.checkGhost()
      return true
    })
    if (!ok) return 0
    if (!(await this.#guard(supervised, tick, 'record', () => this.#recordExits(supervised, tick)))) return 0
    if (final) return 0
    if (!(await this.#guard(supervised, tick, 'check', () => this.#periodicCheck(supervised)))) return 0
    // Heartbeat this dispatcher's own running workers first, so a late tick (a loaded machine, many
    // boards) cannot take back the claims of workers that are alive and working.
    if (!(await this.#guard(supervised, tick, 'heartbeat', () => this.#heartbeat(supervised, board)))) return 0
    const now = this.#now()
    const expired = await this.#guard(supervised, tick, 'release-stale', () =>
      // A live worker of this host with a recent heartbeat is extended, not stolen.
      board.releaseStaleClaims(now, { isAlive: this.#isAlive, host: this.#host }),
    )
    if (expired === undefined) return 0
    if (expired.length > 0) this.#emit({ type: 'reclaimed', tick, board: supervised.path, reason: 'expired', claims: expired })
    const crashed = await this.#guard(supervised, tick, 'detect-crashed', () =>
      board.detectCrashedWorkers({
        isAlive: this.#isAlive,
        host: this.#host,
        now,
        ...(this.#graceMs === undefined ? {} : { graceMs: this.#graceMs }),
      }),
    )
    if (crashed === undefined) return 0
    if (crashed.length > 0) this.#emit({ type: 'reclaimed', tick, board: supervised.path, reason: 'crashed', claims: crashed })
    const spawned = await this.#guard(supervised, tick, 'claim', () => this.#claimAndSpawn(supervised, board, tick))
    if (spawned === undefined) return 0
    if (!(await this.#guard(supervised, tick, 'checkpoint', () => this.#periodicCheckpoint(supervised, board, tick)))) return spawned
    supervised.lastError = undefined
    return spawned
  }

  /**
   * The `checkpointEveryMs` checkpoint: `board.checkpoint('PASSIVE')` once a period has passed since
   * the last one (or since the board's first turn). PASSIVE never waits for readers or writers; a
   * reader that pins the WAL shows as `busy` in the result. Returns true (false is reserved for #guard).
   */
  async #periodicCheckpoint(supervised: SupervisedBoard, board: Board, tick: number): Promise<boolean> {
    const now = this.#now()
    if (supervised.lastCheckpointAt === undefined) supervised.lastCheckpointAt = now
    if (now - supervised.lastCheckpointAt < this.#checkpointEveryMs) return true
    supervised.lastCheckpointAt = now
    const result = await board.checkpoint('PASSIVE')
    supervised.lastCheckpoint = result
    this.#emit({ type: 'checkpointed', tick, board: supervised.path, result })
    return true
  }

  /** The `checkEveryMs` check: a fresh read-only probe; damage it finds is thrown as `Corrupt`. */
  async #periodicCheck(supervised: SupervisedBoard): Promise<boolean> {
    const now = this.#now()
    if (this.#checkEveryMs === undefined) return true
    if (supervised.lastCheckAt !== undefined && now - supervised.lastCheckAt < this.#checkEveryMs) return true
    supervised.lastCheckAt = now
    const probe = await probeBoardFile(this.#adapter, supervised.path, { integrity: this.#integrityProbe })
    if (probe.verdict === 'corrupt') {
      const findings = probe.check?.problems.join('; ') ?? messageOf(probe.error)
      throw new Corrupt(
        `The periodic check of ${supervised.path} found damage: ${findings}. The board is quarantined and left untouched: restore it from a backup (board.backupTo) or recover it with the sqlite3 shell's .recover.`,
        { details: { path: supervised.path }, ...(probe.error === undefined ? {} : { cause: probe.error }) },
      )
    }
    return true
  }

  /** Writes the exits of reaped workers of this board. Returns true (false is reserved for #guard). */
  async #recordExits(supervised: SupervisedBoard, tick: number): Promise<boolean> {
    const board = supervised.board
    if (!board) return true
    for (const worker of this.#workers.unrecordedOn(supervised.path)) {
      const decision = worker.claimLost ? ({ action: 'leave' } as const) : this.#exitPolicy(worker.exit, worker.task)
      let outcome: 'written' | 'stale' = 'written'
      try {
        if (decision.action === 'complete') {
          await board.complete(worker.task.id, worker.task.claimToken, decision.result)
        } else if (decision.action === 'fail') {
          await board.fail(worker.task.id, worker.task.claimToken, decision.error, decision.retry === undefined ? undefined : { retry: decision.retry })
        }
      } catch (error) {
        if (!isStaleClaim(error)) throw error
        outcome = 'stale'
      }
      this.#workers.recorded(worker)
      this.#emit({ type: 'recorded', tick, board: supervised.path, taskId: worker.task.id, decision, outcome })
    }
    return true
  }

  async #heartbeat(supervised: SupervisedBoard, board: Board): Promise<boolean> {
    const now = this.#now()
    for (const worker of this.#workers.running(supervised.path)) {
      if (worker.claimLost || worker.exit !== undefined || now - worker.lastHeartbeatAt < this.#heartbeatEveryMs) continue
      try {
        await board.heartbeat(worker.task.id, worker.task.claimToken, { leaseMs: this.#leaseMs })
        worker.lastHeartbeatAt = now
      } catch (error) {
        if (!isStaleClaim(error)) throw error
        worker.claimLost = true
      }
    }
    return true
  }

  async #claimAndSpawn(supervised: SupervisedBoard, board: Board, tick: number): Promise<number> {
    let spawned = 0
    while (
      !this.#stopped &&
      this.#workers.running(supervised.path).length < this.#concurrency &&
      this.#workers.runningCount < this.#maxWorkers
    ) {
      const task = await board.claimNext({
        workerId: this.workerId,
        pid: process.pid,
        host: this.#host,
        leaseMs: this.#leaseMs,
        ...(this.#assignee === undefined ? {} : { assignee: this.#assignee }),
      })
      if (!task) break
      let handle
      try {
        handle = await this.#spawn(task, board)
      } catch (error) {
        this.#reportError(supervised, tick, 'spawn', error)
        await board.fail(task.id, task.claimToken, `the dispatcher could not start a worker: ${messageOf(error)}`, { kind: 'spawn' })
        break
      }
      const worker = this.#workers.add(supervised.path, task, handle, this.#now())
      supervised.spawned += 1
      spawned += 1
      this.#emit({ type: 'spawned', tick, board: supervised.path, taskId: task.id, runId: task.runId, pid: worker.pid })
    }
    return spawned
  }

  /**
   * The quarantine step of a board's turn. Returns true when the board is out of quarantine (its
   * file changed, or a fresh probe found it healthy) and the turn may go on to open it.
   */
  async #leaveQuarantine(supervised: SupervisedBoard, tick: number): Promise<boolean> {
    const record = supervised.quarantine!
    const now = this.#now()
    const step = quarantineStep(record, now, fingerprintFile(supervised.path))
    if (step === 'wait') return false
    if (step === 'file-changed' && hasStaleWal(record, fingerprintFile(`${supervised.path}-wal`))) {
      this.#refuseStaleWal(supervised, tick, record.walFingerprint)
      return false
    }
    if (step === 'probe') {
      const probe = await probeBoardFile(this.#adapter, supervised.path, { integrity: this.#integrityProbe })
      if (probe.verdict !== 'healthy') {
        supervised.quarantine = afterFailedProbe(record, this.#now(), this.#quarantinePolicy)
        this.#emit({ type: 'probed', tick, board: supervised.path, verdict: probe.verdict, quarantine: supervised.quarantine })
        return false
      }
    }
    supervised.quarantine = undefined
    this.#emit({ type: 'recovered', tick, board: supervised.path, how: step === 'probe' ? 'probe' : 'file-changed', quarantinedForMs: now - record.since })
    return true
  }

  /**
   * Runs one step of a board's turn. On failure: a corruption-looking error is confirmed by a fresh
   * probe and quarantines the board; a transient one closes the board when its connection cannot be
   * trusted (ghost file, I/O error) so the next tick opens it again; every failure is an `error`
   * event and the result is undefined (the turn ends, other boards go on).
   */
  async #guard<T>(supervised: SupervisedBoard, tick: number, phase: string, step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step()
    } catch (error) {
      this.#reportError(supervised, tick, phase, error)
      const kind = classifyFailure(error)
      if (kind === 'corruption') await this.#confirmAndQuarantine(supervised, tick, error)
      else if (needsReopen(error)) {
        await this.#closeBoard(supervised, tick)
        if (KanbanDbError.isKanbanDbError(error) && error.code === 'GHOST_FILE') this.#noteStaleWal(supervised)
      }
      return undefined
    }
  }

  /**
   * True (and an `error` event) while the `-wal` beside the board is still `staleWal`, the old
   * file's: opening the new file beside it would replay the old pages onto it. Not latched: checked
   * every tick, and the board opens as soon as the stale `-wal` is removed (or written by others).
   */
  #refuseStaleWal(supervised: SupervisedBoard, tick: number, staleWal: FileFingerprint): boolean {
    const wal = fingerprintFile(`${supervised.path}-wal`)
    if (!(wal.exists && wal.size !== '0' && sameFingerprint(wal, staleWal))) return false
    this.#reportError(
      supervised,
      tick,
      'open',
      new StaleSidecar(
        `${supervised.path} was replaced or removed, but the ${wal.size}-byte ${supervised.path}-wal of the old file is still beside it: ` +
          'opening the new file would replay the old pages onto it. Make sure no process has the old file open, remove ' +
          `${supervised.path}-wal and ${supervised.path}-shm, and the next tick opens the board.`,
        { details: { path: supervised.path, walBytes: Number(wal.size) } },
      ),
    )
    return true
  }

  async #confirmAndQuarantine(supervised: SupervisedBoard, tick: number, cause: unknown): Promise<void> {
    // The board's own connection is closed while the read-only probe still holds a shared lock, so
    // SQLite cannot checkpoint into the file on close: nothing is written to a board on its way in.
    const probe = await probeBoardFile(this.#adapter, supervised.path, {
      integrity: this.#integrityProbe,
      whileOpen: () => this.#closeBoard(supervised, tick),
    })
    if (probe.verdict !== 'corrupt') {
      // Not confirmed (a stale page cache, a transient read error): the board was closed and is
      // opened afresh next tick. Never latched.
      return
    }
    const findings = probe.check?.problems.join('; ') ?? messageOf(probe.error)
    supervised.quarantine = enterQuarantine(
      this.#now(),
      `${messageOf(cause)} — confirmed by a fresh read-only probe: ${findings}`,
      KanbanDbError.isKanbanDbError(cause) ? cause.code : undefined,
      fingerprintFile(supervised.path),
      this.#quarantinePolicy,
      fingerprintFile(`${supervised.path}-wal`),
    )
    this.#emit({ type: 'quarantined', tick, board: supervised.path, quarantine: supervised.quarantine })
  }

  /** After a ghost board was closed: when its file was replaced or removed, its `-wal` is the old file's. */
  #noteStaleWal(supervised: SupervisedBoard): void {
    const now = fingerprintFile(supervised.path)
    if (supervised.openedAs === undefined || (now.exists && sameInode(now, supervised.openedAs))) return
    const wal = fingerprintFile(`${supervised.path}-wal`)
    if (wal.exists && wal.size !== '0') supervised.staleWal = wal
  }

  async #closeBoard(supervised: SupervisedBoard, tick?: number): Promise<void> {
    const board = supervised.board
    supervised.board = undefined
    if (!board) return
    try {
      await board.close()
    } catch (error) {
      if (tick !== undefined) this.#reportError(supervised, tick, 'close', error)
    }
  }

  #reportError(supervised: SupervisedBoard | undefined, tick: number, phase: string, error: unknown): void {
    const kind = classifyFailure(error)
    const code = KanbanDbError.isKanbanDbError(error) ? error.code : undefined
    const message = messageOf(error)
    if (supervised) supervised.lastError = { phase, kind, code, message, at: this.#now() }
    this.#emit({ type: 'error', tick, board: supervised?.path, phase, kind, code, message, error })
  }

  #emit(event: DistributiveOmit<DispatcherEvent, 'at'>): void {
    this.#events.emit({ ...event, at: this.#now() } as DispatcherEvent)
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** The claim already ended (expired and reclaimed, completed by the worker itself, task gone). */
function isStaleClaim(error: unknown): boolean {
  return KanbanDbError.isKanbanDbError(error) && ['CLAIM_MISMATCH', 'INVALID_TRANSITION', 'TASK_NOT_FOUND'].includes(error.code)
}

/** Errors after which the board's connection is closed and opened again next tick. */
function needsReopen(error: unknown): boolean {
  // LOCKS_LOST: this process's POSIX locks on the board were dropped (H1/H2); only closing every
  // connection to the file and opening again takes them afresh.
  return KanbanDbError.isKanbanDbError(error) && ['GHOST_FILE', 'LOCKS_LOST', 'TRANSIENT_IO', 'BOARD_CLOSED'].includes(error.code)
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function positive(field: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new InvalidInput(`${field}: expected a positive number, got ${String(value)}.`, { details: { field } })
  }
  return value
}

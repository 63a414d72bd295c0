import { realBoardPath } from '../hygiene/real-path.js'
import type { ProcessLock, SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { Board } from '../board/board.js'
import type { BoardEngine, BoardEngineFactory, EngineKind, NamedLock } from '../engine/board-engine.js'
import { openEngineBoard } from '../board/open-engine-board.js'
import type { SqliteBoard } from '../sqlite/sqlite-board.js'
import { openSqliteBoard as openBoard } from '../sqlite/open-sqlite-board.js'
import { classifyFailure, type FailureKind } from '../corruption/failure-kind.js'
import { fingerprintFile, sameFingerprint, sameInode, type FileFingerprint } from '../corruption/file-fingerprint.js'
import { probeBoardFile } from '../corruption/probe-board-file.js'
import {
  afterFailedProbe, enterQuarantine, hasStaleWal, quarantineStep, resolveQuarantinePolicy, type QuarantinePolicy,
  type QuarantineRecord,
} from '../corruption/quarantine.js'
import type { CheckpointResult } from '../hygiene/connection-health.js'
import { Corrupt, InvalidInput, KanbanDbError, LockTimeout, NotSupported, StaleSidecar } from '../errors/errors.js'
import type { TaskStatus } from '../board/transitions.js'
import {
  EventHub, type DispatcherEvent, type DispatcherEventType, type DispatcherListener,
} from './dispatcher-events.js'
import { isProcessAlive, localHost, newDispatcherId, type DispatcherBoardSource, type DispatcherOptions } from './dispatcher-options.js'
import { defaultExitPolicy, describeExit, type ExitDecision, type ExitPolicy } from './exit-policy.js'
import { ClockSteps } from './clock-steps.js'
import { WorkerTable, type ExitedWorker, type RunningWorker } from './worker-table.js'
import type { ClaimEndReason, SpawnWorker, TerminationReason, WorkerSignal } from './worker-handle.js'

/** One supervised board as `dispatcher.status()` shows it. */
export interface BoardStatus {
  /** The board's real path (SQLite), or the `name` of a board on another engine. */
  readonly path: string
  /** The engine the board is on. */
  readonly engine: EngineKind
  /** `open`; `closed` (not opened yet, or closed after an error: retried next tick); `quarantined`. */
  readonly state: 'open' | 'closed' | 'quarantined'
  /** Workers of this board still running. */
  readonly workers: number
  /** Of those, workers the dispatcher is terminating (timed out, claim ended, stopping). */
  readonly terminating: number
  /**
   * Claims this dispatcher did not make that were past their `maxRuntimeMs` at the board's last
   * turn: reported (`overran`, owner `other`) and left to their owners.
   */
  readonly overrunning: number
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
  /** Of those, workers the dispatcher is terminating. */
  readonly terminating: number
  readonly boards: readonly BoardStatus[]
}

/** What `stop()` takes. */
export interface StopOptions {
  /**
   * First wait for the running workers to exit on their own, up to `drainTimeoutMs`, and write
   * their exits as usual (`exitPolicy`). While it waits the dispatcher claims nothing, but every
   * `intervalMs` it still reaps, writes exits, heartbeats, and terminates workers that run past
   * `maxRuntimeMs` or whose claim ended. Default false: no waiting, the workers are terminated at once.
   */
  readonly drain?: boolean
  /**
   * How long `drain` waits (ms, by the dispatcher's clock `now`) before the workers still running
   * are terminated. Default: no limit (a worker without `maxRuntimeMs` that never exits keeps
   * `stop()` waiting). Give one below your supervisor's stop timeout (systemd's `TimeoutStopSec`,
   * Kubernetes' `terminationGracePeriodSeconds`) minus `2 x killGraceMs`.
   */
  readonly drainTimeoutMs?: number
  /**
   * Leave the workers still running (after `drain`, if asked for) running, as dispatchers before
   * this option did: their claims are no longer heartbeated and their exits are not written; the
   * claims are taken back by `detectCrashedWorkers` once this process is gone (claims record the
   * dispatcher's pid) or by `releaseStaleClaims` when their lease runs out. Default false: they are
   * terminated (SIGTERM, SIGKILL after `killGraceMs`) and their claims released.
   */
  readonly leaveWorkersRunning?: boolean
}

/** Which parts of a board's turn a tick runs: all, all but claiming (while stopping), or only reap and record. */
type TickMode = 'normal' | 'draining' | 'final'

/** The name of the tick lock (`BoardEngine.tryLock`); on SQLite the file `<board>.dispatch-lock`. */
const DISPATCH_LOCK = 'dispatch'

interface SupervisedBoard {
  /** The real path of a SQLite board, or the source's name: what events and status call the board. */
  readonly path: string
  /** Undefined for a SQLite board given by path; the board's source for a board on another engine. */
  readonly source: DispatcherBoardSource | undefined
  board: Board | undefined
  /** The engine an engine board was opened on (its tick lock), while it is open. */
  engine: BoardEngine | undefined
  quarantine: QuarantineRecord | undefined
  spawned: number
  skipped: number
  lastError: BoardStatus['lastError']
  /** When the periodic checkpoint last ran, or the board's first turn (`checkpointEveryMs`). */
  lastCheckpointAt: number | undefined
  lastCheckpoint: CheckpointResult | undefined
  /** When the periodic file check last ran (`checkEveryMs`). */
  lastCheckAt: number | undefined
  /** The file the open board was opened on (SQLite). */
  openedAs: FileFingerprint | undefined
  /** The old file's `-wal`, left when the file was replaced under the open board: never opened beside. */
  staleWal: FileFingerprint | undefined
  /** Claims of others found past their `maxRuntimeMs` at the last turn (run ids), each reported once. */
  foreignOverruns: Set<string>
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
 *
 * Boards are SQLite files given by path, or boards on another engine ({@link DispatcherBoardSource},
 * for example PostgreSQL): those have no file to check, quarantine or checkpoint, take their tick
 * lock through the engine, and have lease expiry and `maxRuntimeMs` judged by their own clock.
 */
export class Dispatcher {
  readonly workerId: string
  readonly #adapter: SqliteAdapter | undefined
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
  readonly #killGraceMs: number
  readonly #onOverrun: 'terminate' | 'report'
  readonly #onClaimEnded: 'terminate' | 'report'
  readonly #quarantinePolicy: QuarantinePolicy
  readonly #integrityProbe: boolean
  readonly #checkEveryMs: number | undefined
  readonly #tickLock: boolean
  readonly #checkpointEveryMs: number
  readonly #openBoard: (path: string, adapter: SqliteAdapter) => Promise<SqliteBoard>
  readonly #now: () => number
  /** #now's forward steps, not counted in how long this dispatcher's own workers have run. */
  readonly #clockSteps: ClockSteps
  readonly #events: EventHub
  readonly #boards: SupervisedBoard[]
  readonly #workers = new WorkerTable()
  #ticks = 0
  #currentTick: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #started = false
  #stopped = false
  #stopping: Promise<void> | undefined

  constructor(options: DispatcherOptions) {
    if (!Array.isArray(options.boards) || !options.boards.every((entry) => isBoardPath(entry) || isBoardSource(entry))) {
      throw new InvalidInput(
        'options.boards: expected an array of SQLite board file paths and engine boards ({ name, engine }, for example { name: \'agents\', engine: postgres({ connectionString }) }).',
        { details: { field: 'options.boards' } },
      )
    }
    if (options.boards.some(isBoardPath) && (typeof options.adapter !== 'object' || options.adapter === null)) {
      throw new InvalidInput('options.adapter: the SQLite board paths in options.boards need the adapter to open them with.', { details: { field: 'options.adapter' } })
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
    this.#killGraceMs = nonNegative('options.killGraceMs', options.killGraceMs ?? 10_000)
    this.#onOverrun = oneOf('options.onOverrun', options.onOverrun ?? 'terminate', ['terminate', 'report'])
    this.#onClaimEnded = oneOf('options.onClaimEnded', options.onClaimEnded ?? 'terminate', ['terminate', 'report'])
    this.#quarantinePolicy = resolveQuarantinePolicy(options.quarantine)
    this.#integrityProbe = options.integrityProbe ?? false
    this.#checkEveryMs = options.checkEveryMs === undefined ? undefined : positive('options.checkEveryMs', options.checkEveryMs)
    this.#tickLock = options.tickLock ?? true
    this.#checkpointEveryMs = positive('options.checkpointEveryMs', options.checkpointEveryMs ?? 300_000)
    this.#now = options.now ?? Date.now
    this.#clockSteps = new ClockSteps(this.#now)
    const policy = options.policy
    const now = this.#now
    this.#openBoard = options.openBoard ?? ((path, adapter) => openBoard({ path, adapter, ...(policy ? { policy } : {}), clock: now }))
    this.#events = new EventHub(options.events, (error) =>
      process.emitWarning(`A kanban-db dispatcher event listener threw (ignored): ${messageOf(error)}`, 'KanbanDbDispatcherWarning'),
    )
    // In the order given. Real paths: two spellings of one board (a symlink, `..` past a link) are
    // one board with one tick lock. An engine board's name must be its own.
    const supervised = (path: string, source: DispatcherBoardSource | undefined): SupervisedBoard => ({
      path, source, board: undefined, engine: undefined, quarantine: undefined, spawned: 0, skipped: 0, lastError: undefined, lastCheckpointAt: undefined, lastCheckpoint: undefined,
      lastCheckAt: undefined, openedAs: undefined, staleWal: undefined, foreignOverruns: new Set(),
    })
    const boards = new Map<string, SupervisedBoard>()
    for (const entry of options.boards) {
      if (isBoardPath(entry)) {
        const path = realBoardPath(entry)
        const known = boards.get(path)
        if (known === undefined) boards.set(path, supervised(path, undefined))
        else if (known.source === undefined) continue
        else throw duplicateName(path)
      } else {
        if (boards.has(entry.name)) throw duplicateName(entry.name)
        boards.set(entry.name, supervised(entry.name, entry))
      }
    }
    this.#boards = [...boards.values()]
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
   * Stops: no more ticks or claims. Waits for the running tick to finish; with `drain`, waits for
   * the workers to exit on their own (up to `drainTimeoutMs`); then terminates every worker still
   * running (SIGTERM, SIGKILL after `killGraceMs`) and waits for it, unless `leaveWorkersRunning`;
   * writes the exits it can (a terminated worker's claim is released, counting no failure: the
   * stop is not the task's fault); and closes every board connection. A worker that cannot be
   * terminated (a handle without `kill`, or one still running `killGraceMs` after SIGKILL) is not
   * waited for: its claim runs out with its lease.
   *
   * A stopped dispatcher leaves none of its workers running unless `leaveWorkersRunning` asks for
   * it. Later calls return the first call's promise (their options are ignored).
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping) return this.#stopping
    let drainTimeoutMs: number
    try {
      drainTimeoutMs = options.drainTimeoutMs === undefined ? Number.POSITIVE_INFINITY : nonNegative('options.drainTimeoutMs', options.drainTimeoutMs)
    } catch (error) {
      return Promise.reject(error)
    }
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    // The drain window starts when stop() is called, not when the running tick has finished.
    this.#stopping = this.#shutDown(options, this.#now() + drainTimeoutMs)
    return this.#stopping
  }

  async #shutDown(options: StopOptions, deadline: number): Promise<void> {
    await this.#currentTick
    if (options.drain) {
      await this.#superviseUntil(() => this.#workers.live().length === 0 || this.#now() >= deadline)
    }
    if (!options.leaveWorkersRunning) {
      for (const worker of this.#workers.live()) this.#terminate(worker, 'stopped', this.#ticks)
      await this.#superviseUntil(() => this.#workers.live().every((worker) => worker.termination?.abandoned === true))
    }
    // Write the exits that are left; a dispatcher with nothing to write opens no board.
    if (this.#workers.runningCount > 0 || this.#workers.unrecordedCount > 0) await this.#runTick('final')
    for (const supervised of this.#boards) await this.#closeBoard(supervised)
  }

  /**
   * While stopping: runs `draining` ticks (reap, record, heartbeat, supervise; no claims) after each
   * worker exit and at least every `intervalMs`, until `done()`.
   */
  async #superviseUntil(done: () => boolean): Promise<void> {
    while (!done()) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([this.#workers.nextExit(), new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#intervalMs)))])
      clearTimeout(timer)
      await this.#runTick('draining')
    }
  }

  /**
   * Runs one tick now and resolves when it has finished. Calls while a tick runs share it (ticks
   * never overlap). Never rejects for a board's failure: those become `error` events.
   */
  tick(): Promise<void> {
    if (this.#currentTick) return this.#currentTick
    if (this.#stopped) return Promise.resolve()
    const running = this.#runTick('normal').finally(() => {
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
      terminating: this.#workers.running().filter((worker) => worker.termination).length,
      boards: this.#boards.map((supervised) => ({
        path: supervised.path,
        engine: supervised.source?.engine.kind ?? 'sqlite',
        state: supervised.quarantine ? 'quarantined' : supervised.board ? 'open' : 'closed',
        workers: this.#workers.running(supervised.path).length,
        terminating: this.#workers.running(supervised.path).filter((worker) => worker.termination).length,
        overrunning: supervised.foreignOverruns.size,
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

  async #runTick(mode: TickMode): Promise<void> {
    const tick = ++this.#ticks
    const startedAt = this.#now()
    let spawned = 0

    // 1. Reap, before and independent of any board: a board that cannot open never keeps an exited
    //    worker's slot, and every exit is seen.
    const reaped = this.#workers.reap()
    for (const worker of reaped) {
      this.#emit({ type: 'reaped', tick, board: worker.board, taskId: worker.task.id, pid: worker.pid, exit: worker.exit })
    }
    // ... then move terminations on (SIGKILL after the grace), also independent of every board.
    this.#escalate(tick)
    // ... and write the exits to boards that are open now (the others wait for their board's turn).
    for (const supervised of this.#boards) {
      const board = supervised.board
      if (!board || supervised.quarantine || this.#workers.unrecordedOn(supervised.path).length === 0) continue
      try {
        await this.#guard(supervised, tick, 'record', async () => {
          sqliteOf(supervised)?.checkGhost()
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
        spawned += await this.#visitLocked(supervised, tick, mode)
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
      terminating: this.#workers.running().filter((worker) => worker.termination).length,
      quarantined: this.#boards.filter((supervised) => supervised.quarantine).length,
    })
  }

  /**
   * One board's turn under its tick lock, taken without waiting: while another dispatcher, in any
   * process, runs its turn on the board, this one skips the board this tick (a `skipped` event).
   * A SQLite path's lock is `<board>.dispatch-lock`, taken before the board is opened (so the
   * quarantine and open steps are under it too); the kernel drops a dead holder's lock. An engine
   * board's is the engine's `tryLock('dispatch')`, taken once the board is open; on a PostgreSQL
   * server a session advisory lock the server drops with a dead holder's session. Either way a
   * crashed dispatcher never stops the others. Returns how many workers it spawned.
   */
  async #visitLocked(supervised: SupervisedBoard, tick: number, mode: TickMode): Promise<number> {
    // The final tick only writes exits: a board with none to write is not opened for it.
    if (mode === 'final' && this.#workers.unrecordedOn(supervised.path).length === 0) return 0
    if (!this.#tickLock) return this.#visit(supervised, tick, mode)
    let lock: ProcessLock | NamedLock | undefined
    try {
      if (supervised.source === undefined) {
        lock = await this.#adapter!.acquireLock(`${supervised.path}.${DISPATCH_LOCK}-lock`, { timeoutMs: 0 })
      } else {
        if (!(await this.#open(supervised, tick))) return 0
        lock = await supervised.engine!.tryLock(DISPATCH_LOCK)
      }
    } catch (error) {
      if (!(error instanceof LockTimeout)) {
        this.#reportError(supervised, tick, 'lock', error)
        // An engine that cannot take locks any more (closed under the board) is opened afresh next tick.
        if (supervised.source !== undefined && needsReopen(error)) await this.#closeBoard(supervised, tick)
        return 0
      }
    }
    if (lock === undefined) {
      supervised.skipped += 1
      this.#emit({ type: 'skipped', tick, board: supervised.path, reason: 'locked' })
      return 0
    }
    try {
      return await this.#visit(supervised, tick, mode)
    } finally {
      try {
        await lock.release()
      } catch (error) {
        this.#reportError(supervised, tick, 'unlock', error)
      }
    }
  }

  /**
   * Opens the board when it is not open. A SQLite path is not opened beside the stale `-wal` of a
   * file replaced under it; an engine board is opened through its source's engine, which the
   * dispatcher keeps for the tick lock. Returns false (after an `error` event) when it stays closed.
   */
  async #open(supervised: SupervisedBoard, tick: number): Promise<boolean> {
    if (supervised.board) return true
    const source = supervised.source
    if (source !== undefined) {
      const opened = await this.#guard(supervised, tick, 'open', async () => {
        let engine: BoardEngine | undefined
        const capture: BoardEngineFactory = { kind: source.engine.kind, open: async (options) => (engine = await source.engine.open(options)) }
        supervised.board = await openEngineBoard({ ...source.options, engine: capture })
        supervised.engine = engine
        return true
      })
      return opened === true
    }
    if (supervised.staleWal && this.#refuseStaleWal(supervised, tick, supervised.staleWal)) return false
    supervised.staleWal = undefined
    const opened = await this.#guard(supervised, tick, 'open', async () => {
      supervised.board = await this.#openBoard(supervised.path, this.#adapter!)
      supervised.openedAs = fingerprintFile(supervised.path)
      return true
    })
    return opened === true
  }

  /** One board's turn. Returns how many workers it spawned. */
  async #visit(supervised: SupervisedBoard, tick: number, mode: TickMode): Promise<number> {
    if (supervised.quarantine && !(await this.#leaveQuarantine(supervised, tick))) return 0
    if (!(await this.#open(supervised, tick))) return 0
    const board = supervised.board!
    const sqlite = sqliteOf(supervised)
    if (sqlite) {
      const ok = await this.#guard(supervised, tick, 'ghost-check', async () => {
        sqlite.checkGhost()
        return true
      })
      if (!ok) return 0
    }
    if (!(await this.#guard(supervised, tick, 'record', () => this.#recordExits(supervised, tick)))) return 0
    if (mode === 'final') return 0
    if (mode === 'normal' && !(await this.#guard(supervised, tick, 'check', () => this.#periodicCheck(supervised)))) return 0
    // Heartbeat this dispatcher's own running workers first, so a late tick (a loaded machine, many
    // boards) cannot take back the claims of workers that are alive and working.
    if (!(await this.#guard(supervised, tick, 'heartbeat', () => this.#heartbeat(supervised, board)))) return 0
    // Then its workers whose claim ended under them, or whose task ran past maxRuntimeMs.
    if (!(await this.#guard(supervised, tick, 'supervise', () => this.#supervise(supervised, board, tick)))) return 0
    if (mode === 'draining') return 0
    const now = this.#boardNow(supervised)
    const expired = await this.#guard(supervised, tick, 'release-stale', () =>
      // A live worker of this host with a recent heartbeat is extended, not stolen. No explicit
      // `now`: the board reads its own clock (this dispatcher's on a SQLite path, the server's on
      // an engine), so its guard against a clock far ahead of what the board recorded applies
      // (a clock stepped forward must not take back live leases; see the board's clockSkew).
      board.releaseStaleClaims(undefined, { isAlive: this.#isAlive, host: this.#host }),
    )
    if (expired === undefined) return 0
    if (expired.length > 0) this.#emit({ type: 'reclaimed', tick, board: supervised.path, reason: 'expired', claims: expired })
    const crashed = await this.#guard(supervised, tick, 'detect-crashed', () =>
      board.detectCrashedWorkers({
        isAlive: this.#isAlive,
        host: this.#host,
        ...(now === undefined ? {} : { now }),
        ...(this.#graceMs === undefined ? {} : { graceMs: this.#graceMs }),
      }),
    )
    if (crashed === undefined) return 0
    if (crashed.length > 0) this.#emit({ type: 'reclaimed', tick, board: supervised.path, reason: 'crashed', claims: crashed })
    const spawned = await this.#guard(supervised, tick, 'claim', () => this.#claimAndSpawn(supervised, board, tick))
    if (spawned === undefined) return 0
    if (sqlite && !(await this.#guard(supervised, tick, 'checkpoint', () => this.#periodicCheckpoint(supervised, sqlite, tick)))) return spawned
    supervised.lastError = undefined
    return spawned
  }

  /**
   * The `checkpointEveryMs` checkpoint: `board.checkpoint('PASSIVE')` once a period has passed since
   * the last one (or since the board's first turn). PASSIVE never waits for readers or writers; a
   * reader that pins the WAL shows as `busy` in the result. Returns true (false is reserved for #guard).
   */
  async #periodicCheckpoint(supervised: SupervisedBoard, board: SqliteBoard, tick: number): Promise<boolean> {
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
    if (this.#checkEveryMs === undefined || supervised.source !== undefined) return true
    if (supervised.lastCheckAt !== undefined && now - supervised.lastCheckAt < this.#checkEveryMs) return true
    supervised.lastCheckAt = now
    const probe = await probeBoardFile(this.#adapter!, supervised.path, { integrity: this.#integrityProbe })
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
      const decision = this.#decide(worker)
      let outcome: 'written' | 'stale' = 'written'
      try {
        if (decision.action === 'complete') {
          await board.complete(worker.task.id, worker.task.claimToken, decision.result)
        } else if (decision.action === 'fail') {
          await board.fail(worker.task.id, worker.task.claimToken, decision.error, {
            ...(decision.retry === undefined ? {} : { retry: decision.retry }),
            ...(decision.kind === undefined ? {} : { kind: decision.kind }),
          })
        } else if (decision.action === 'release') {
          await board.release(worker.task.id, worker.task.claimToken, { reason: decision.reason })
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

  /**
   * What an exited worker's exit means: nothing when its claim is gone; `fail` with kind `timeout`
   * when the dispatcher terminated it for running past `maxRuntimeMs`; a release when it terminated
   * it because it was stopping (even an exit 0: a worker that shuts down gracefully on SIGTERM
   * exits 0 without having finished); else the exit policy's decision.
   */
  #decide(worker: ExitedWorker): ExitDecision {
    if (worker.claimLost) return { action: 'leave' }
    if (worker.termination === 'timed-out') {
      return {
        action: 'fail',
        kind: 'timeout',
        error: `the worker ran past the task's maxRuntimeMs (${worker.task.maxRuntimeMs} ms) and was terminated: it ${describeExit(worker.exit)}`,
      }
    }
    if (worker.termination === 'stopped') return { action: 'release', reason: 'shutdown' }
    return this.#exitPolicy(worker.exit, worker.task)
  }

  /**
   * This board's part of supervising the dispatcher's own workers, in its turn (after heartbeats):
   *
   * 1. a worker whose claim ended under it (its run closed as `archived`, `expired` or `crashed`,
   *    or the run is not on the board) is terminated (or reported, `onClaimEnded`); a run the
   *    claim holder closed itself (completed, failed, blocked, released, ...) is left alone: the
   *    worker wrote its own outcome and is on its way out;
   * 2. `board.overrunningClaims(now)`: this dispatcher's workers past `maxRuntimeMs` are
   *    terminated (or reported, `onOverrun`); the fail is written when the exit is. Other claims
   *    are reported once each and left alone;
   * 3. a timed-out worker that cannot be terminated has its claim failed (kind `timeout`) now.
   *
   * Returns true (false is reserved for #guard).
   */
  async #supervise(supervised: SupervisedBoard, board: Board, tick: number): Promise<boolean> {
    const watched = this.#workers.live(supervised.path).filter((worker) => worker.claimEnded === undefined)
    if (watched.length > 0) {
      const rows = await board.db
        .selectFrom('task_runs')
        .leftJoin('tasks', 'tasks.id', 'task_runs.task_id')
        .select(['task_runs.id as runId', 'task_runs.outcome as outcome', 'tasks.status as status'])
        .where('task_runs.id', 'in', watched.map((worker) => worker.task.runId))
        .execute()
      const byRun = new Map(rows.map((row) => [row.runId, row]))
      for (const worker of watched) {
        const row = byRun.get(worker.task.runId)
        if (row !== undefined && row.outcome === null) continue
        const reason = claimEndReason(row?.outcome ?? undefined, row !== undefined)
        if (reason === undefined) {
          worker.claimEnded = 'by-holder'
          continue
        }
        worker.claimEnded = reason
        worker.claimLost = true
        this.#emit({
          type: 'claim-ended', tick, board: supervised.path, taskId: worker.task.id, runId: worker.task.runId, pid: worker.pid, reason,
          status: (row?.status ?? null) as TaskStatus | null, action: this.#onClaimEnded,
        })
        if (this.#onClaimEnded === 'terminate') this.#terminate(worker, reason, tick)
      }
    }

    const boardNow = this.#boardNow(supervised)
    const overrunning = await board.overrunningClaims(boardNow)
    const clockSteps = this.#clockSteps.total()
    const foreign = new Set<string>()
    const mine = this.#workers.running(supervised.path)
    for (const claim of overrunning) {
      const worker = mine.find((candidate) => candidate.task.id === claim.taskId && candidate.task.runId === claim.runId)
      if (worker) {
        // An exited worker's exit is written next tick; a worker whose claim ended is handled above.
        if (worker.exit !== undefined || worker.overran || worker.claimLost) continue
        // Judged by this dispatcher's clock (a SQLite path), the run is past its bound only because
        // the clock stepped forward since the worker started (see ClockSteps): judged again next tick.
        const stepped = clockSteps - worker.clockStepsAtStart
        if (boardNow !== undefined && stepped > 0 && boardNow - claim.startedAt - stepped < claim.maxRuntimeMs) continue
        worker.overran = true
        this.#emit({ type: 'overran', tick, board: supervised.path, claim, owner: 'this', action: this.#onOverrun })
        if (this.#onOverrun === 'terminate') this.#terminate(worker, 'timed-out', tick)
        continue
      }
      const key = claim.runId ?? `${claim.taskId}@${claim.startedAt}`
      foreign.add(key)
      if (!supervised.foreignOverruns.has(key)) this.#emit({ type: 'overran', tick, board: supervised.path, claim, owner: 'other', action: 'report' })
    }
    supervised.foreignOverruns = foreign

    for (const worker of this.#workers.live(supervised.path)) {
      if (worker.termination?.reason !== 'timed-out' || !worker.termination.abandoned || worker.claimLost) continue
      try {
        await board.fail(
          worker.task.id,
          worker.task.claimToken,
          `the worker ran past the task's maxRuntimeMs (${worker.task.maxRuntimeMs} ms) and could not be terminated; the claim was failed without waiting for it`,
          { kind: 'timeout' },
        )
      } catch (error) {
        if (!isStaleClaim(error)) throw error
      }
      worker.claimLost = true
    }
    return true
  }

  /**
   * Starts terminating one of this dispatcher's workers: SIGTERM now (a `terminating` event), SIGKILL
   * once `killGraceMs` has passed (#escalate). A handle without `kill` cannot be terminated: a
   * `NotSupported` error event, and the worker is abandoned at once. A no-op for a worker that has
   * exited or is already being terminated.
   */
  #terminate(worker: RunningWorker, reason: TerminationReason, tick: number): void {
    if (worker.exit !== undefined || worker.termination) return
    worker.termination = { reason, since: this.#now(), signal: undefined, killedAt: undefined, abandoned: false }
    if (typeof worker.handle.kill !== 'function') {
      this.#reportError(
        this.#boards.find((supervised) => supervised.path === worker.board),
        tick,
        'terminate',
        new NotSupported(
          `The worker of task ${worker.task.id} (pid ${worker.pid ?? 'unknown'}) must be terminated (${reason}), but the WorkerHandle that spawn returned for it has no kill(): ` +
            'the dispatcher cannot stop it and will not wait for it. Return a handle with kill(signal) from spawn (workerFromChildProcess(child) has one).',
          { details: { board: worker.board, taskId: worker.task.id, pid: worker.pid, reason } },
        ),
      )
      this.#abandon(worker, tick)
      return
    }
    this.#signal(worker, 'SIGTERM', tick)
  }

  /** At the top of each tick: SIGKILL to workers still running `killGraceMs` after SIGTERM; abandon those still running as long after SIGKILL. */
  #escalate(tick: number): void {
    const now = this.#now()
    for (const worker of this.#workers.live()) {
      const termination = worker.termination
      if (!termination || termination.abandoned) continue
      if (termination.killedAt === undefined) {
        if (now - termination.since < this.#killGraceMs) continue
        termination.killedAt = now
        this.#signal(worker, 'SIGKILL', tick)
      } else if (now - termination.killedAt >= this.#killGraceMs) {
        this.#abandon(worker, tick)
      }
    }
  }

  #signal(worker: RunningWorker, signal: WorkerSignal, tick: number): void {
    worker.termination!.signal = signal
    try {
      worker.handle.kill!(signal)
    } catch (error) {
      this.#reportError(this.#boards.find((supervised) => supervised.path === worker.board), tick, 'terminate', error)
    }
    this.#emit({ type: 'terminating', tick, board: worker.board, taskId: worker.task.id, runId: worker.task.runId, pid: worker.pid, reason: worker.termination!.reason, step: signal })
  }

  #abandon(worker: RunningWorker, tick: number): void {
    worker.termination!.abandoned = true
    this.#emit({ type: 'terminating', tick, board: worker.board, taskId: worker.task.id, runId: worker.task.runId, pid: worker.pid, reason: worker.termination!.reason, step: 'abandoned' })
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
      const worker = this.#workers.add(supervised.path, task, handle, this.#now(), this.#clockSteps.total())
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
      const probe = await probeBoardFile(this.#adapter!, supervised.path, { integrity: this.#integrityProbe })
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
      // Only a file can be confirmed damaged and quarantined; a server's error is reported and retried.
      if (kind === 'corruption' && supervised.source === undefined) await this.#confirmAndQuarantine(supervised, tick, error)
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
    const probe = await probeBoardFile(this.#adapter!, supervised.path, {
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
    // The board owns its engine and closes it.
    supervised.engine = undefined
    if (!board) return
    try {
      await board.close()
    } catch (error) {
      if (tick !== undefined) this.#reportError(supervised, tick, 'close', error)
    }
  }

  /**
   * The `now` the board's stored times are compared with: the dispatcher's clock on a SQLite path
   * (the board's own clock there, this host's); undefined on an engine board, so the board takes
   * its own (the server's on Postgres) and a skewed dispatcher host cannot misjudge a lease or a
   * `maxRuntimeMs`.
   */
  #boardNow(supervised: SupervisedBoard): number | undefined {
    return supervised.source === undefined ? this.#now() : undefined
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

function duplicateName(name: string): InvalidInput {
  return new InvalidInput(`options.boards: two boards are called ${JSON.stringify(name)}; give each engine board a name of its own.`, { details: { field: 'options.boards' } })
}

function isBoardPath(entry: unknown): entry is string {
  return typeof entry === 'string' && entry.length > 0
}

function isBoardSource(entry: unknown): entry is DispatcherBoardSource {
  if (typeof entry !== 'object' || entry === null) return false
  const { name, engine } = entry as Partial<DispatcherBoardSource>
  return typeof name === 'string' && name.length > 0 && typeof engine === 'object' && engine !== null && typeof engine.open === 'function'
}

/** The open board as a SqliteBoard when it is a SQLite path's: the file steps exist only there. */
function sqliteOf(supervised: SupervisedBoard): SqliteBoard | undefined {
  return supervised.source === undefined ? (supervised.board as SqliteBoard | undefined) : undefined
}

/** The claim already ended (expired and reclaimed, completed by the worker itself, task gone). */
function isStaleClaim(error: unknown): boolean {
  return KanbanDbError.isKanbanDbError(error) && ['CLAIM_MISMATCH', 'INVALID_TRANSITION', 'TASK_NOT_FOUND'].includes(error.code)
}

/**
 * Why a worker's claim ended, from its run's outcome: `archived`; `reclaimed` when it expired or was
 * found crashed (another claimer may run the task now); `task-gone` when the run is not on the board.
 * Undefined when the claim holder ended it itself (completed, failed, blocked, released, timed out,
 * ...): the worker wrote its own outcome and is expected to exit.
 */
function claimEndReason(outcome: string | undefined, found: boolean): ClaimEndReason | undefined {
  if (!found) return 'task-gone'
  if (outcome === 'archived') return 'archived'
  // `reclaimed`: an operator took the claim back by hand (board.reclaim).
  if (outcome === 'expired' || outcome === 'crashed' || outcome === 'reclaimed') return 'reclaimed'
  return undefined
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

function nonNegative(field: string, value: number): number {
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new InvalidInput(`${field}: expected a number of milliseconds, 0 or more, got ${String(value)}.`, { details: { field } })
  }
  return value
}

function oneOf<T extends string>(field: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new InvalidInput(`${field}: expected one of ${allowed.map((item) => `'${item}'`).join(', ')}, got ${JSON.stringify(value)}.`, { details: { field } })
  }
  return value
}

function positive(field: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new InvalidInput(`${field}: expected a positive number, got ${String(value)}.`, { details: { field } })
  }
  return value
}

import type { ClaimedTask } from '../board/types.js'
import type { ClaimEndReason, TerminationReason, WorkerExit, WorkerHandle, WorkerSignal } from './worker-handle.js'

/** A termination in progress (by the dispatcher's clock). */
export interface Termination {
  readonly reason: TerminationReason
  /** When it began (SIGTERM sent, or found impossible). */
  readonly since: number
  /** The last signal sent; undefined when the handle has no `kill`. */
  signal: WorkerSignal | undefined
  /** When SIGKILL was sent. */
  killedAt: number | undefined
  /**
   * The dispatcher stopped waiting for this worker: its handle has no `kill`, or it was still
   * running `killGraceMs` after SIGKILL.
   */
  abandoned: boolean
}

/** A worker the dispatcher started and has not reaped yet. */
export interface RunningWorker {
  /** The board path its task belongs to. */
  readonly board: string
  readonly task: ClaimedTask
  readonly pid: number | undefined
  readonly handle: WorkerHandle
  readonly startedAt: number
  /** The forward steps of the dispatcher's clock seen before it started the worker (see ClockSteps). */
  readonly clockStepsAtStart: number
  /** When the dispatcher last extended the claim's lease. */
  lastHeartbeatAt: number
  /** True once the claim is known to be gone (a heartbeat refused, or ended under the worker): the exit is then not recorded. */
  claimLost: boolean
  /**
   * Set once a tick found the claim ended: by someone else (a {@link ClaimEndReason}, acted on), or
   * by the claim holder itself (`by-holder`: the worker wrote its own outcome; left alone).
   */
  claimEnded: ClaimEndReason | 'by-holder' | undefined
  /** True once a tick found the task past its `maxRuntimeMs` (and acted on it). */
  overran: boolean
  /** Set while the dispatcher terminates the worker. */
  termination: Termination | undefined
  /** Set when the worker's exit promise settled; the next tick reaps it. */
  exit: WorkerExit | undefined
}

/** A reaped worker whose exit is still to be written to its board. */
export interface ExitedWorker {
  readonly board: string
  readonly task: ClaimedTask
  readonly pid: number | undefined
  readonly exit: WorkerExit
  readonly claimLost: boolean
  /** Why the dispatcher terminated it, when it did. */
  readonly termination: TerminationReason | undefined
}

/**
 * The dispatcher's table of workers: the running ones, and the exited ones whose exit still has to
 * be written to a board (kept until their board is open and not quarantined). Reaping is a pure
 * in-memory step, so it never depends on any board being openable.
 */
export class WorkerTable {
  readonly #running = new Set<RunningWorker>()
  readonly #unrecorded: ExitedWorker[] = []
  readonly #exitWaiters = new Set<() => void>()

  /** Starts tracking a spawned worker. */
  add(board: string, task: ClaimedTask, handle: WorkerHandle, now: number, clockSteps: number): RunningWorker {
    const worker: RunningWorker = {
      board, task, pid: handle.pid, handle, startedAt: now, clockStepsAtStart: clockSteps, lastHeartbeatAt: now, claimLost: false, claimEnded: undefined, overran: false,
      termination: undefined, exit: undefined,
    }
    this.#running.add(worker)
    Promise.resolve(handle.exit).then(
      (exit) => this.#settle(worker, exit ?? { code: null, signal: null, error: 'the exit promise resolved to nothing' }),
      (error: unknown) => this.#settle(worker, { code: null, signal: null, error: error instanceof Error ? error.message : String(error) }),
    )
    return worker
  }

  /** Moves every worker whose exit has settled out of the running set, and returns them. */
  reap(): ExitedWorker[] {
    const reaped: ExitedWorker[] = []
    for (const worker of this.#running) {
      if (worker.exit === undefined) continue
      this.#running.delete(worker)
      const exited: ExitedWorker = {
        board: worker.board, task: worker.task, pid: worker.pid, exit: worker.exit, claimLost: worker.claimLost, termination: worker.termination?.reason,
      }
      reaped.push(exited)
      this.#unrecorded.push(exited)
    }
    return reaped
  }

  /** Exited workers of `board` whose exit is not written yet, oldest first. */
  unrecordedOn(board: string): ExitedWorker[] {
    return this.#unrecorded.filter((worker) => worker.board === board)
  }

  /** Forgets an exited worker once its exit is written (or found stale). */
  recorded(worker: ExitedWorker): void {
    const index = this.#unrecorded.indexOf(worker)
    if (index >= 0) this.#unrecorded.splice(index, 1)
  }

  /** Running (not yet reaped) workers, of one board or of all. */
  running(board?: string): RunningWorker[] {
    return [...this.#running].filter((worker) => board === undefined || worker.board === board)
  }

  /** Running workers whose exit has not settled, of one board or of all. */
  live(board?: string): RunningWorker[] {
    return this.running(board).filter((worker) => worker.exit === undefined)
  }

  /** How many workers are running (not yet reaped). */
  get runningCount(): number {
    return this.#running.size
  }

  /** How many exits wait to be written. */
  get unrecordedCount(): number {
    return this.#unrecorded.length
  }

  /** Resolves when any running worker exits (at once when one has exited and is not reaped yet). */
  nextExit(): Promise<void> {
    if ([...this.#running].some((worker) => worker.exit !== undefined)) return Promise.resolve()
    return new Promise((resolve) => this.#exitWaiters.add(resolve))
  }

  /** Resolves when every worker running now has exited. */
  async allExited(): Promise<void> {
    while ([...this.#running].some((worker) => worker.exit === undefined)) {
      await new Promise<void>((resolve) => this.#exitWaiters.add(resolve))
    }
  }

  #settle(worker: RunningWorker, exit: WorkerExit): void {
    worker.exit = exit
    const waiters = [...this.#exitWaiters]
    this.#exitWaiters.clear()
    for (const wake of waiters) wake()
  }
}

import type { ChildProcess } from 'node:child_process'
import type { Board } from '../board/board.js'
import type { ClaimedTask } from '../board/types.js'

/** How a worker process ended. */
export interface WorkerExit {
  /** The exit code, or null when a signal ended it (or it never started). */
  readonly code: number | null
  /** The signal that ended it, or null. */
  readonly signal: string | null
  /** Set when the worker could not be started or its exit could not be observed. */
  readonly error?: string
}

/** The signals the dispatcher sends a worker it terminates: `SIGTERM` first, `SIGKILL` after `killGraceMs`. */
export type WorkerSignal = 'SIGTERM' | 'SIGKILL'

/**
 * Why a worker's claim ended under it, not by the worker's own write: the task was `archived`; its
 * claim was `reclaimed` (the lease expired and was taken back, or the claim was found crashed, and
 * another claimer may run the task now); or the task and its run are not on the board at all
 * (`task-gone`: the file was replaced or restored from a backup).
 */
export type ClaimEndReason = 'archived' | 'reclaimed' | 'task-gone'

/**
 * Why the dispatcher terminates one of its workers: its task ran past `maxRuntimeMs`
 * (`timed-out`), its claim ended under it (a {@link ClaimEndReason}), or the dispatcher is stopping.
 */
export type TerminationReason = 'timed-out' | ClaimEndReason | 'stopped'

/**
 * What `spawn` returns: anything child-like. The dispatcher needs the pid (for logs), a promise
 * that settles once the worker has exited (a rejected promise counts as an exit with `error`), and
 * `kill` to terminate it.
 */
export interface WorkerHandle {
  readonly pid: number | undefined
  readonly exit: Promise<WorkerExit>
  /**
   * Sends the worker `signal` (default `SIGTERM`) and returns at once; the dispatcher learns of the
   * exit through `exit`. It must be safe to call after the worker has exited (a no-op then). The
   * dispatcher's policy is `SIGTERM`, then `SIGKILL` once `killGraceMs` has passed without an exit.
   * It terminates a worker whose task ran past its `maxRuntimeMs`, whose claim ended under it
   * (the task was archived, or its claim taken back), and every worker still running when it stops.
   *
   * Optional so that handles written before it still type-check, but a handle without it cannot be
   * terminated: the dispatcher then reports a `NotSupported` error event, fails a timed-out claim
   * without waiting for the worker, and leaves such a worker running at `stop()`.
   * {@link workerFromChildProcess} provides it.
   */
  readonly kill?: (signal?: WorkerSignal) => void
}

/**
 * The caller's way to start a worker for a claimed task on `board`. The claim (`task.claimToken`) is
 * held by the dispatcher, which heartbeats it while the worker runs and records the exit through
 * the board when the worker is gone (see `ExitPolicy`). Throwing here fails the claim at once.
 * `board` is the dispatcher's open board: a `SqliteBoard` for a board given by path
 * (`board.engine === 'sqlite'`), a `Board` for a board on another engine.
 */
export type SpawnWorker = (task: ClaimedTask, board: Board) => WorkerHandle | Promise<WorkerHandle>

/**
 * A {@link WorkerHandle} for a Node `ChildProcess` (from `spawn`, `fork` or `execFile`): the exit
 * promise settles on the child's `exit` event, or on `error` when it could not be started; `kill`
 * is `child.kill(signal)` (the child only, not processes it started: a worker that runs a tree of
 * processes should forward the signal to them, or be spawned `detached` with a handle of your own
 * that signals its process group with `process.kill(-pid, signal)`).
 */
export function workerFromChildProcess(child: ChildProcess): WorkerHandle {
  const exit = new Promise<WorkerExit>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode })
      return
    }
    child.once('exit', (code, signal) => resolve({ code, signal }))
    child.once('error', (error) => {
      // 'error' without 'exit' means the process never started (or could not be killed).
      if (child.pid === undefined) resolve({ code: null, signal: null, error: error.message })
    })
  })
  const kill = (signal: WorkerSignal = 'SIGTERM'): void => {
    // Nothing to signal once it has exited (its pid may already belong to another process).
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
    child.kill(signal)
  }
  return { pid: child.pid, exit, kill }
}

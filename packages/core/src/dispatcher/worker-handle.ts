import type { ChildProcess } from 'node:child_process'
import type { SqliteBoard as Board } from '../sqlite/sqlite-board.js'
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

/**
 * What `spawn` returns: anything child-like. The dispatcher needs the pid (for logs) and a promise
 * that settles once the worker has exited; a rejected promise counts as an exit with `error`.
 */
export interface WorkerHandle {
  readonly pid: number | undefined
  readonly exit: Promise<WorkerExit>
}

/**
 * The caller's way to start a worker for a claimed task on `board`. The claim (`task.claimToken`) is
 * held by the dispatcher, which heartbeats it while the worker runs and records the exit through
 * the board when the worker is gone (see `ExitPolicy`). Throwing here fails the claim at once.
 */
export type SpawnWorker = (task: ClaimedTask, board: Board) => WorkerHandle | Promise<WorkerHandle>

/**
 * A {@link WorkerHandle} for a Node `ChildProcess` (from `spawn`, `fork` or `execFile`): the exit
 * promise settles on the child's `exit` event, or on `error` when it could not be started.
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
  return { pid: child.pid, exit }
}

import type { ClaimedTask, JsonValue } from '../board/types.js'
import type { WorkerExit } from './worker-handle.js'

/** What the dispatcher records on the board when a worker has exited. */
export type ExitDecision =
  /** `board.complete(task, claimToken, result)`. */
  | { readonly action: 'complete'; readonly result?: JsonValue }
  /** `board.fail(task, claimToken, error)`: retried while attempts remain (unless `retry: false`). */
  | { readonly action: 'fail'; readonly error: string; readonly retry?: boolean }
  /** Nothing: the worker recorded its own outcome through the board. */
  | { readonly action: 'leave' }

/** Decides what a worker's exit means for its task. */
export type ExitPolicy = (exit: WorkerExit, task: ClaimedTask) => ExitDecision

/** Exit code 0 completes the task with `{ exitCode: 0 }`; anything else fails the attempt. */
export const defaultExitPolicy: ExitPolicy = (exit) => {
  if (exit.code === 0 && exit.error === undefined) return { action: 'complete', result: { exitCode: 0 } }
  const how = exit.error ?? (exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`)
  return { action: 'fail', error: `the worker ${how}` }
}

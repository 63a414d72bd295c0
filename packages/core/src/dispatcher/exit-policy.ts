import type { AttemptFailureKind, ClaimedTask, JsonValue } from '../board/types.js'
import type { WorkerExit } from './worker-handle.js'

/** What the dispatcher records on the board when a worker has exited. */
export type ExitDecision =
  /** `board.complete(task, claimToken, result)`. */
  | { readonly action: 'complete'; readonly result?: JsonValue }
  /**
   * `board.fail(task, claimToken, error, { kind })`: retried while attempts remain (unless
   * `retry: false`). `kind` defaults to `error`; the dispatcher itself writes `timeout` for a worker
   * it terminated because its task ran past `maxRuntimeMs`.
   */
  | { readonly action: 'fail'; readonly error: string; readonly retry?: boolean; readonly kind?: AttemptFailureKind }
  /**
   * `board.release(task, claimToken, { reason })`: hands the claim back unfinished, counting neither
   * a failure nor an attempt. The dispatcher writes it for a worker it terminated because it was
   * stopping (reason `shutdown`).
   */
  | { readonly action: 'release'; readonly reason: string }
  /** Nothing: the worker recorded its own outcome through the board. */
  | { readonly action: 'leave' }

/** Decides what a worker's exit means for its task. */
export type ExitPolicy = (exit: WorkerExit, task: ClaimedTask) => ExitDecision

/** Exit code 0 completes the task with `{ exitCode: 0 }`; anything else fails the attempt. */
export const defaultExitPolicy: ExitPolicy = (exit) => {
  if (exit.code === 0 && exit.error === undefined) return { action: 'complete', result: { exitCode: 0 } }
  return { action: 'fail', error: `the worker ${describeExit(exit)}` }
}

/** How a worker ended, for messages: `exited with code 3`, `was killed by SIGTERM`, or its error. */
export function describeExit(exit: WorkerExit): string {
  return exit.error ?? (exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`)
}

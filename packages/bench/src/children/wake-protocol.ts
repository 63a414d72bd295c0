import type { WakeCandidate } from './wake-sources.ts'

/** What the coordinator tells a wake-up child first. */
export interface WakeInit {
  readonly type: 'init'
  readonly candidate: WakeCandidate
  /** The board file (the coordinator created it; each candidate has its own). */
  readonly path: string
  /** The adapter module the board opens through. */
  readonly adapterModule: string
  /** `board.work`'s slots (all idle between tasks). */
  readonly concurrency: number
}

/** Report the CPU time used so far (the coordinator subtracts two marks: W4). */
export interface WakeMark {
  readonly type: 'mark'
}

/** Stop the worker, close the board, report and exit. */
export interface WakeStop {
  readonly type: 'stop'
}

export type ToWakeChild = WakeInit | WakeMark | WakeStop

export type FromWakeChild =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly message: string }
  /**
   * A handler started task `id` at `at`; `wakes`: the board's latest onWake calls (up to 16, shared
   * clock), its own writes' included: the coordinator takes the first one after it began creating.
   */
  | { readonly type: 'started'; readonly id: string; readonly at: number; readonly wakes: readonly number[] }
  /** The answer to a mark: CPU ms (user + system) used by this process so far, at `at` (shared clock). */
  | { readonly type: 'mark'; readonly cpuMs: number; readonly at: number }
  | { readonly type: 'report'; readonly completed: number; readonly failures: readonly string[] }

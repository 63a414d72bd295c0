import type { BoardPolicyPragmas } from '../baselines/raw-board.ts'
import type { RawRows, Synchronous } from '../baselines/raw-database.ts'

/** What the coordinator tells a fleet child first. */
export interface FleetInit {
  readonly type: 'init'
  readonly role: 'worker' | 'dispatcher'
  /** `board`: through openBoard; `raw`: the hand-written raw claim loop with busy_timeout 5000 (reference only). */
  readonly mode: 'board' | 'raw'
  readonly path: string
  /**
   * `raw` mode only (ignored otherwise): which raw loop the worker runs. `tasks` (the default):
   * raw-claim's loop on the tasks table; `board`: raw-board's loop, the board's own statements and
   * rows on a file `openBoard` created.
   */
  readonly rawRows?: RawRows
  /** `raw` mode with rows `board`: the board's policy pragmas, set on the worker's raw connection. */
  readonly boardPragmas?: BoardPolicyPragmas
  /**
   * `raw` mode only: the raw board loop finishes each task with its one-transaction
   * complete-and-claim-next (rows `board` only) instead of two transactions.
   */
  readonly chained: boolean
  /**
   * `board` mode, role worker: which loop runs the tasks. `work`: the library's own loop,
   * `board.work` (what users run; the fleet's goals read it). `hand`: the hand-written loop that
   * finishes each task with `completeAndClaimNext` (one commit per cycle), the W1 baseline.
   */
  readonly loop?: 'work' | 'hand'

  /** The adapter module boards open through (`board` mode). */
  readonly adapterModule: string
  readonly synchronous: Synchronous
  readonly workerId: string
  readonly leaseMs: number
  readonly heartbeatEveryMs: number
  /** The dispatcher tops the ready queue up to this many tasks on every tick. */
  readonly readyBacklog: number
}

/** Everyone starts on this message (sent once every child said ready). */
export interface FleetGo {
  readonly type: 'go'
  /** Wall-clock ms the per-second windows count from. */
  readonly goAt: number
}

/** Finish the current operation, report and exit. */
export interface FleetStop {
  readonly type: 'stop'
}

export type ToFleetChild = FleetInit | FleetGo | FleetStop

/** A worker's account of its run. */
export interface WorkerReport {
  readonly type: 'report'
  readonly role: 'worker'
  readonly workerId: string
  /**
   * claim+complete cycles finished inside the run, before the clock stopped (the tasks counted in
   * {@link WorkerReport.heldCompleted} not included): what the fleet's cycles/s counts.
   */
  readonly cycles: number
  /** Ms from go until the loop stopped. */
  readonly elapsedMs: number
  /** Every task the worker claimed and completed, in order: the cycles', then the last chained one if any (not the held task). */
  readonly claimedIds: readonly string[]
  readonly claimTokens: readonly string[]
  readonly claimLatenciesMs: readonly number[]
  /** How late each heartbeat finished after it was due (ms). */
  readonly heartbeatLatenessMs: readonly number[]
  /** Claims per 1 s window since go. */
  readonly windows: readonly number[]
  readonly busy: number
  /** claimNext found nothing ready (the backlog ran dry). */
  readonly empty: number
  /**
   * Tasks the worker completed after the clock stopped, not counted in `cycles`: the task a board
   * worker held and heartbeated all run, and, in chained mode, the task the last
   * `completeAndClaimNext` claimed. The coordinator checks the board against `cycles + heldCompleted`.
   */
  readonly heldCompleted: number
  /** CPU time (user + system) this worker process used from go until its clock stopped, ms. */
  readonly cpuMs: number
  readonly failures: readonly string[]
}

/** The dispatcher's account: what it created and which claims it found expired. */
export interface DispatcherReport {
  readonly type: 'report'
  readonly role: 'dispatcher'
  readonly created: number
  readonly releasedIds: readonly string[]
  readonly busy: number
  readonly failures: readonly string[]
}

export type FromFleetChild = { readonly type: 'ready' } | { readonly type: 'fatal'; readonly message: string } | WorkerReport | DispatcherReport

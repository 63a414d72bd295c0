/** What a Postgres fleet child runs. */
export type PgChildKind =
  /** kanban-db: `board.work` with `concurrency` slots (the library chains completeAndClaimNext and waits on onWake while idle). */
  | 'board'
  /** kanban-db, W1's baseline: `concurrency` hand-written loops finishing each task with completeAndClaimNext, idle loops waiting on onWake. */
  | 'board-hand'
  /** The raw node-postgres loop (the board's own statements), `concurrency` connections, chained. */
  | 'raw-board'
  /** graphile-worker 0.18 with its defaults, `concurrency` no-op jobs at once. */
  | 'graphile'

/** What the coordinator tells a child first. */
export interface PgFleetInit {
  readonly type: 'init'
  readonly kind: PgChildKind
  readonly url: string
  readonly schema: string
  readonly workerId: string
  /** Concurrent loops (board, raw-board) or graphile-worker's `concurrency`. */
  readonly concurrency: number
  readonly leaseMs: number
  /** P3: send `started` for every task the moment the handler (board.work) or the claim (hand loops) has it. */
  readonly reportStarts: boolean
  /**
   * P5: a call that fails with ConnectionLost is tried again after a short backoff (a completion
   * whose retry is refused with ClaimMismatch is read back: done means the first try landed).
   * Without it every error counts as surfaced; the loop still backs off and goes on.
   */
  readonly retryConnectionLost: boolean
  /** `raw-board` only: send the statements as named prepared statements (parsed and planned once per connection). */
  readonly prepared?: boolean
  /** Send `progress` this often (ms); 0: never. */
  readonly progressEveryMs: number
}

/** Everyone starts on this message (sent once every child said ready). */
export interface PgFleetGo {
  readonly type: 'go'
  /** The shared monotonic clock (pg-server.ts, sharedNow) at go: 1 s windows count from it. */
  readonly goAt: number
}

export interface PgFleetStop {
  readonly type: 'stop'
}

/** Report the CPU time this process used so far (W4: the coordinator subtracts two marks). */
export interface PgFleetMark {
  readonly type: 'mark'
}

export type ToPgChild = PgFleetInit | PgFleetGo | PgFleetStop | PgFleetMark

/** A child's account of its run. */
export interface PgWorkerReport {
  readonly type: 'report'
  readonly workerId: string
  /** Tasks (jobs) finished and acknowledged between go and stop: what throughput counts. */
  readonly cycles: number
  /** Ms from go (graphile: from its runner being up) to stop. */
  readonly elapsedMs: number
  /** Every task whose completion was acknowledged to this process (inside the run and after stop), in order. */
  readonly ackedIds: readonly string[]
  /** The shared clock at each acknowledgement, in the order of `ackedIds`. */
  readonly ackTimes: readonly number[]
  /** Every claim token handed to this process. */
  readonly claimTokens: readonly string[]
  /** Acknowledged completions per 1 s window since go (before stop). */
  readonly windows: readonly number[]
  /** Errors a board call threw to a loop (ConnectionLost excepted in P5, where it is retried). */
  readonly errors: number
  /** The first few of them. */
  readonly errorSamples: readonly string[]
  /** ConnectionLost errors met (P5). */
  readonly connectionLost: number
  /**
   * Calls lost with ConnectionLost after their COMMIT was sent: each may have landed. A landed
   * completeAndClaimNext or claimNext may have claimed a task this process never heard of; it stays
   * running until its lease runs out.
   */
  readonly inDoubt: number
  /** Completions acknowledged by reading the task back after a retry was refused (they had landed). */
  readonly confirmedAfterLoss: number
  /** Claims that found nothing ready, after which the loop waited for onWake (board.work: its `idle` events, one per idle spell). */
  readonly idleWaits: number
  /**
   * board.work only: tasks its handler finished whose completion the worker gave up on after
   * transient errors (neither completed nor refused): they stay running until their lease ends.
   */
  readonly gaveUp: number
  /** board.work only: tasks it released at stop (claimed by a chained completion while it was stopping: ready again). */
  readonly released: number
  /** Tasks completed after stop: each loop's claimed-but-unfinished task. */
  readonly heldCompleted: number
  /** CPU time this process used from go to stop (user + system), ms. */
  readonly cpuMs: number
  readonly failures: readonly string[]
}

export type FromPgChild =
  | { readonly type: 'ready' }
  | { readonly type: 'fatal'; readonly message: string }
  /**
   * P3: the handler (board.work) or a claim (hand loops) had `id` at `at`; `wakes`: the board's
   * latest onWake calls (up to 16, shared clock; the coordinator takes the first after it began
   * creating); a hand loop called claimNext at `claimAt` (NaN for board.work).
   */
  | { readonly type: 'started'; readonly id: string; readonly at: number; readonly wakes: readonly number[]; readonly claimAt: number }
  | { readonly type: 'progress'; readonly acked: number; readonly at: number }
  /** The answer to a mark: CPU ms (user + system) this process used so far, at `at` (shared clock). */
  | { readonly type: 'mark'; readonly cpuMs: number; readonly at: number }
  | PgWorkerReport

import type { BenchOptions } from './options.ts'

/** Named figures one run of a contender produced, for example `{ perSecond: 5400 }`. */
export type Figures = Record<string, number>

/** What one run of a contender reports. */
export interface RunResult {
  readonly figures: Figures
  /** Broken invariants. A run with failures yields no figures worth trusting; the bench exits 1. */
  readonly failures: readonly string[]
  /** Facts worth printing beside the figures (for example the WAL limit a peak is measured against). */
  readonly notes?: readonly string[]
  /** Samples kept for `--json` only (latencies, WAL sizes). */
  readonly samples?: Readonly<Record<string, readonly number[]>>
}

/** What a contender gets for one run. */
export interface RunContext {
  /** A fresh, empty directory on the benchmarked filesystem for this run alone. */
  readonly dir: string
  /** How long to run, in ms. */
  readonly durationMs: number
  readonly options: BenchOptions
  /** Figures of contenders already run in this repetition (to size a backlog, for instance). */
  readonly earlier: ReadonlyMap<string, Figures>
}

/** One thing the bench measures: a baseline or a kanban-db scenario. */
export interface Contender {
  /** Stable id, used in the table and the JSON (`sync`, `raw-claim/NORMAL`, `board-claim/NORMAL`). */
  readonly id: string
  /** One line: what is measured and in which unit. */
  readonly description: string
  readonly kind: 'baseline' | 'kanban-db'
  /** Runs several processes: gets `--fleet-seconds` instead of `--seconds`. */
  readonly multiProcess?: boolean
  run(context: RunContext): Promise<RunResult>
}

/** Thrown by a contender whose subject does not exist yet (a board operation not built). */
export class NotMeasured extends Error {
  override readonly name = 'NotMeasured'
}

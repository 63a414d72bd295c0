import type { Capability, SqliteAdapter } from '@kanban-db/core'
import type { TaskHandle } from './task-handle.js'

/**
 * What a case exercises; the CLI's `--tiers` selects by it. `faults` holds kernel-level fault
 * injection (strace); `foreign` shares a board with other SQLite clients (the sqlite3 shell,
 * Python's sqlite3); `stress` is opt-in.
 */
export type Tier = 'core' | 'txn' | 'concurrency' | 'corruption' | 'faults' | 'foreign' | 'stress'

/** Every tier, in matrix order. */
export const TIERS: readonly Tier[] = ['core', 'txn', 'concurrency', 'corruption', 'faults', 'foreign', 'stress']

/** The tiers that run when none are asked for: every tier but the opt-in `stress`. */
export const DEFAULT_TIERS: readonly Tier[] = TIERS.filter((tier) => tier !== 'stress')

/** Options for starting a child task from a case. */
export interface SpawnOptions {
  /** Kill the task after this long (default: the case's own `timeoutMs`). */
  readonly timeoutMs?: number
  /** Extra environment variables (child processes only). */
  readonly env?: Readonly<Record<string, string>>
}

/** What a case gets to run with. */
export interface CaseContext {
  /** The adapter under test, loaded in this process. */
  readonly adapter: SqliteAdapter
  /** The adapter's module name, for child processes and worker threads to load it by. */
  readonly moduleName: string
  /** The directory children resolve `moduleName` from (pass it on to grandchildren). */
  readonly resolveFrom: string
  /** A fresh temporary directory for this case alone, removed afterwards. */
  readonly dir: string
  /** `join(dir, name)`. */
  path(name: string): string
  /**
   * Runs one child task (a file in `src/child-tasks/`) in a fresh Node process that loads the adapter
   * by module name, and resolves with what the task returned. The child is always reaped.
   */
  child<T = unknown>(task: string, args?: Record<string, unknown>, options?: SpawnOptions): Promise<T>
  /**
   * Starts one child task in a fresh Node process and returns its handle at once, for cases that
   * exchange messages with it while it runs or kill it on purpose. The runner reaps it when the
   * case ends, whatever happens.
   */
  spawn<T = unknown>(task: string, args?: Record<string, unknown>, options?: SpawnOptions): TaskHandle<T>
  /** Like {@link CaseContext.spawn}, in a worker thread of this process. */
  spawnWorker<T = unknown>(task: string, args?: Record<string, unknown>, options?: SpawnOptions): TaskHandle<T>
  /** Writes one line of detail into the report (kept in `--json`, shown in the matrix's reasons). */
  note(line: string): void
  /**
   * Ends the case as `skip` with `reason`: for what only running can tell (a tool missing on this
   * machine, no second SQLite copy reachable). Never pass a case that tested nothing; skip it.
   */
  skip(reason: string): never
}

/**
 * One conformance case: data plus a `run` function that throws on failure. Ids are stable and
 * dotted (`core.file-roundtrip`, `hazard.two-sqlite-copies`); each case lives in `src/cases/<id>.ts`.
 */
export interface ConformanceCase {
  readonly id: string
  readonly title: string
  readonly tier: Tier
  /** Capabilities the case needs; without one it is skipped with that reason. */
  readonly requires: readonly Capability[]
  /** The case fails when it runs longer than this. */
  readonly timeoutMs: number
  run(context: CaseContext): Promise<void>
}

import type { Capability, SqliteAdapter } from '@kanban-db/core'

/** How heavy a case is; the CLI's `--tiers` selects by it. `stress` is opt-in. */
export type Tier = 'core' | 'txn' | 'concurrency' | 'corruption' | 'stress'

/** Every tier, in matrix order. */
export const TIERS: readonly Tier[] = ['core', 'txn', 'concurrency', 'corruption', 'stress']

/** What a case gets to run with. */
export interface CaseContext {
  /** The adapter under test, loaded in this process. */
  readonly adapter: SqliteAdapter
  /** The adapter's module name, for child processes and worker threads to load it by. */
  readonly moduleName: string
  /** A fresh temporary directory for this case alone, removed afterwards. */
  readonly dir: string
  /** `join(dir, name)`. */
  path(name: string): string
  /**
   * Runs one child task (a file in `src/child-tasks/`) in a fresh Node process that loads the adapter
   * by module name, and resolves with what the task returned. The child is always reaped.
   */
  child<T = unknown>(task: string, args?: Record<string, unknown>): Promise<T>
  /** Writes one line of detail into the report (shown on failure, kept in `--json`). */
  note(line: string): void
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

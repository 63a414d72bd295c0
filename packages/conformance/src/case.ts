import type { Board, CommonBoardOptions } from '@kanban-db/core'
import type { Capability, EngineKind, SqliteAdapter } from '@kanban-db/core/adapter'
import type { BoardSpec } from './board-spec.js'
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

/** The engines a case runs on when it names none: SQLite only (most cases test its file, WAL, locks and drivers). */
export const DEFAULT_ENGINES: readonly EngineKind[] = ['sqlite']

/** Every engine, for cases that test the board's semantics on any of them. */
export const ALL_ENGINES: readonly EngineKind[] = ['sqlite', 'postgres']

/** What `context.openBoard` takes: which of the case's boards (default `board`), and board options. */
export interface CaseBoardOptions extends CommonBoardOptions {
  /** Which board of the case: each name is its own board (a file, or a schema). Default `board`. */
  readonly name?: string
}

/** What a case gets to run with. */
export interface CaseContext {
  /** The engine under test: `sqlite` (an adapter) or `postgres`. */
  readonly engine: EngineKind
  /**
   * The SQLite adapter under test, loaded in this process. On another engine there is none: reading
   * it throws, saying the case should declare `engines: ['sqlite']` or use `openBoard`/`boardSpec`.
   */
  readonly adapter: SqliteAdapter
  /**
   * The subject's module name (the adapter's, or `@kanban-db/adapter-postgres`), for child processes
   * and worker threads to load it by.
   */
  readonly moduleName: string
  /** The directory children resolve `moduleName` from (pass it on to grandchildren). */
  readonly resolveFrom: string
  /** A fresh temporary directory for this case alone, removed afterwards. */
  readonly dir: string
  /** `join(dir, name)`. */
  path(name: string): string
  /**
   * The case's board `name` (default `board`) as plain data for children, who open it with
   * `openSpecBoard(spec, { adapter })`: on SQLite the file `<dir>/<name>.db` through the adapter; on
   * Postgres a fresh schema `c_<random>` of the server, created by the engine on first open and
   * dropped (CASCADE) by the runner after the case, whatever happens. The same name gives the same
   * board for the whole case.
   */
  boardSpec(name?: string): BoardSpec
  /**
   * Opens the case's board `options.name` (see {@link CaseContext.boardSpec}) on the subject in this
   * process, creating and migrating it: `openBoard({ path, adapter })` on SQLite, `openBoard({ engine:
   * postgres({ connectionString, schema }) })` on Postgres. The runner closes whatever the case left
   * open.
   */
  openBoard(options?: CaseBoardOptions): Promise<Board>
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

/** The engines `testCase` applies to. */
export function caseEngines(testCase: Pick<ConformanceCase, 'engines'>): readonly EngineKind[] {
  return testCase.engines ?? DEFAULT_ENGINES
}

/**
 * One conformance case: data plus a `run` function that throws on failure. Ids are stable and
 * dotted (`core.file-roundtrip`, `hazard.two-sqlite-copies`); each case lives in `src/cases/<id>.ts`.
 */
export interface ConformanceCase {
  readonly id: string
  readonly title: string
  readonly tier: Tier
  /**
   * The engines the case applies to (default {@link DEFAULT_ENGINES}: SQLite only). On another
   * engine it is skipped, saying so.
   */
  readonly engines?: readonly EngineKind[]
  /**
   * SQLite adapter capabilities the case needs; a SQLite adapter without one skips it with that
   * reason. They say nothing about other engines (`engines` decides there).
   */
  readonly requires: readonly Capability[]
  /**
   * Set when the case leaves descriptors on its own files on purpose (a control reproducing a
   * hazard that strands them), saying why: the runner's leak check then notes what it found
   * instead of failing the case, and closes nothing.
   */
  readonly leavesDescriptors?: string
  /** The case fails when it runs longer than this. */
  readonly timeoutMs: number
  run(context: CaseContext): Promise<void>
}

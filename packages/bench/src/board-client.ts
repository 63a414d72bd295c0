import { CompiledQuery, type Kysely } from 'kysely'
import type { SqliteAdapter } from '@kanban-db/core'
import { NotMeasured } from './contender.ts'
import type { Synchronous } from './baselines/raw-database.ts'

/**
 * The slice of `@kanban-db/core`'s Board the bench drives, typed here so the bench compiles while
 * the board is being built; `openBenchBoard` checks at run time that each piece exists and reports
 * what is missing as "not measured" instead of failing.
 */
export interface BenchBoard {
  readonly path: string
  readonly db: Kysely<any>
  createTask(input: BenchTaskInput): Promise<{ readonly id: string }>
  createTasks(inputs: readonly BenchTaskInput[]): Promise<ReadonlyArray<{ readonly id: string }>>
  claimNext(options: {
    readonly workerId: string
    readonly pid: number
    readonly host: string
    readonly leaseMs: number
  }): Promise<{ readonly id: string; readonly claimToken: string } | undefined>
  heartbeat(taskId: string, claimToken: string): Promise<unknown>
  complete(taskId: string, claimToken: string, result?: unknown): Promise<unknown>
  /** Issue 11: complete and claim the next task in one commit. Optional: older boards lack it. */
  completeAndClaimNext?(
    taskId: string,
    claimToken: string,
    result: unknown,
    claim: { readonly workerId: string; readonly pid: number; readonly host: string; readonly leaseMs: number },
  ): Promise<{ readonly next: { readonly id: string; readonly claimToken: string } | undefined }>
  releaseStaleClaims(now?: number): Promise<ReadonlyArray<{ readonly taskId: string }>>
  events(query?: { readonly afterId?: number; readonly limit?: number }): Promise<ReadonlyArray<{ readonly id: number; readonly kind: string }>>
  writeTxn<T>(fn: (trx: Kysely<any>) => Promise<T> | T): Promise<T>
  close(): Promise<void>
}

/** What the bench creates: small tasks with a spread of priorities. */
export interface BenchTaskInput {
  readonly title: string
  readonly priority?: number
}

type OpenBoard = (options: { path: string; adapter: SqliteAdapter; policy?: Record<string, unknown> }) => Promise<BenchBoard>

const REQUIRED = ['createTask', 'createTasks', 'claimNext', 'heartbeat', 'complete', 'releaseStaleClaims', 'events', 'writeTxn', 'close'] as const

let cachedOpenBoard: OpenBoard | undefined

/** `openBoard` from the built @kanban-db/core, or NotMeasured when it is not exported yet. */
export async function loadOpenBoard(): Promise<OpenBoard> {
  if (cachedOpenBoard) return cachedOpenBoard
  const core = (await import('@kanban-db/core')) as Record<string, unknown>
  if (typeof core['openBoard'] !== 'function') {
    throw new NotMeasured('@kanban-db/core (built dist) does not export openBoard yet (issue 3); rebuild core once it lands')
  }
  cachedOpenBoard = core['openBoard'] as OpenBoard
  return cachedOpenBoard
}

/** The adapters the bench can drive boards through, by short name. */
export const BENCH_ADAPTERS: Readonly<Record<string, string>> = {
  'better-sqlite3': '@kanban-db/adapter-better-sqlite3',
  'node-sqlite': '@kanban-db/adapter-node-sqlite',
}

let adapterModule = BENCH_ADAPTERS['better-sqlite3']!
let cachedAdapter: SqliteAdapter | undefined

/**
 * Chooses the adapter every board of this process opens through (default better-sqlite3, the same
 * SQLite copy as the raw baselines). Fleet children get the module name from their init message.
 */
export function useAdapter(moduleName: string): void {
  if (moduleName !== adapterModule) cachedAdapter = undefined
  adapterModule = moduleName
}

/** The module name of the adapter in use (what fleet children load). */
export function adapterModuleName(): string {
  return adapterModule
}

/** The adapter in use, loaded once. */
export async function benchAdapter(): Promise<SqliteAdapter> {
  if (!cachedAdapter) {
    const module = (await import(adapterModule)) as { default: () => Promise<SqliteAdapter> }
    cachedAdapter = await module.default()
  }
  return cachedAdapter
}

/** Opens a board through `openBoard` with the default policy except `synchronous`. */
export async function openBenchBoard(path: string, synchronous: Synchronous, adapter?: SqliteAdapter): Promise<BenchBoard> {
  const openBoard = await loadOpenBoard()
  const board = await openBoard({ path, adapter: adapter ?? (await benchAdapter()), policy: { synchronous } })
  const missing = REQUIRED.filter((name) => typeof (board as unknown as Record<string, unknown>)[name] !== 'function')
  if (missing.length > 0) {
    await board.close?.()
    throw new NotMeasured(`the Board has no ${missing.join(', ')} yet (issue 3 names them)`)
  }
  return board
}

/** `count` ready tasks titled for the bench, priorities 0-4. */
export function benchTasks(count: number, offset = 0): BenchTaskInput[] {
  return Array.from({ length: count }, (_, i) => ({ title: `bench task ${offset + i}`, priority: (offset + i) % 5 }))
}

/** Creates `count` ready tasks in batches of 1,000 (one transaction each). */
export async function fillBoard(board: BenchBoard, count: number): Promise<void> {
  for (let done = 0; done < count; done += 1000) await board.createTasks(benchTasks(Math.min(1000, count - done), done))
}

/** One pragma as the board's own connection reads it back. */
export async function boardPragma(board: BenchBoard, name: string): Promise<string | number> {
  const result = await board.db.executeQuery(CompiledQuery.raw(`PRAGMA ${name}`))
  const row = result.rows[0] as Record<string, string | number> | undefined
  return row === undefined ? '' : Object.values(row)[0]!
}

/** The pragmas the bench records for a board. */
export async function boardPragmas(board: BenchBoard): Promise<Record<string, string | number>> {
  const names = ['journal_mode', 'synchronous', 'busy_timeout', 'wal_autocheckpoint', 'page_size', 'foreign_keys', 'secure_delete', 'cell_size_check', 'journal_size_limit', 'user_version']
  const pragmas: Record<string, string | number> = {}
  for (const name of names) pragmas[name] = await boardPragma(board, name)
  return pragmas
}

/**
 * Checks the board against the counts a scenario kept: exactly `completed` tasks are done, each with
 * exactly one `completed` event. Returns broken invariants (empty when all hold).
 */
export async function verifyCompletions(board: BenchBoard, completed: number): Promise<string[]> {
  const failures: string[] = []
  const done = await board.db.executeQuery(CompiledQuery.raw("SELECT count(*) AS n FROM tasks WHERE status = 'done'"))
  const doneCount = Number((done.rows[0] as { n: number }).n)
  if (doneCount !== completed) failures.push(`${doneCount} tasks are done on the board, the workers completed ${completed}`)
  const twice = await board.db.executeQuery(
    CompiledQuery.raw("SELECT task_id, count(*) AS n FROM events WHERE kind = 'completed' GROUP BY task_id HAVING count(*) <> 1 LIMIT 5"),
  )
  for (const row of twice.rows as Array<{ task_id: string; n: number }>) failures.push(`task ${row.task_id} has ${row.n} completed events`)
  const events = await board.db.executeQuery(CompiledQuery.raw("SELECT count(*) AS n FROM events WHERE kind = 'completed'"))
  const eventCount = Number((events.rows[0] as { n: number }).n)
  if (eventCount !== completed) failures.push(`${eventCount} completed events for ${completed} completions`)
  return failures
}

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { openBoard, type Board } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import type { BoardSpec } from './board-spec.js'
import type { CaseBoardOptions, CaseContext, ConformanceCase, SpawnOptions } from './case.js'
import { spawnChildTask } from './child-process.js'
import { planCase } from './planner.js'
import { caseSchemaName, dropCaseSchema, withPostgres } from './postgres-session.js'
import type { AdapterReport, CaseResult } from './report.js'
import { describeError } from './run-task.js'
import { asSubject, planTarget, subjectIdentity, type Subject } from './subject.js'
import { TaskRegistry } from './task-handle.js'
import { spawnWorkerTask } from './worker-thread.js'
import { CaseSkipped, skipReasonOf } from './case-skipped.js'
import { closeLeakedDescriptors, describeLeak, descriptorGuardOn, descriptorsUnder } from './descriptor-leaks.js'

/** Options for {@link runCase}. */
export interface RunCaseOptions {
  /** Directory child processes resolve the subject's module from (default: the current directory). */
  readonly resolveFrom?: string
  /** Case ids not to run: each is reported as `skip`, saying it was skipped by request. */
  readonly skip?: readonly string[]
}

/** How long the runner waits for a board the case left open to close before it moves on. */
const CLOSE_LEFT_OPEN_MS = 30_000

/** A board name: it becomes part of a file name. */
const BOARD_NAME = /^[A-Za-z0-9._-]{1,64}$/

/**
 * Runs one case on one subject (a SQLite adapter or the Postgres engine), with no test-runner
 * dependency: plans it, gives it a fresh temporary directory (and, on Postgres, fresh schemas),
 * enforces its timeout, reaps every child it started (on pass, fail or timeout), closes the boards
 * it left open, drops its schemas, and turns a known failure into `xfail`/`xpass`.
 */
export function runCase(testCase: ConformanceCase, subject: Subject, options?: RunCaseOptions): Promise<CaseResult>
export function runCase(testCase: ConformanceCase, adapter: SqliteAdapter, moduleName: string, options?: RunCaseOptions): Promise<CaseResult>
export async function runCase(
  testCase: ConformanceCase,
  target: Subject | SqliteAdapter,
  moduleNameOrOptions?: string | RunCaseOptions,
  maybeOptions: RunCaseOptions = {},
): Promise<CaseResult> {
  const subject = asSubject(target, typeof moduleNameOrOptions === 'string' ? moduleNameOrOptions : undefined)
  const options = typeof moduleNameOrOptions === 'object' ? moduleNameOrOptions : maybeOptions
  const { id, tier, title } = testCase
  const plan = planCase(testCase, planTarget(subject), options.skip === undefined ? {} : { skip: options.skip })
  if (plan.action === 'skip') return { id, tier, title, status: 'skip', ms: 0, detail: plan.reason, notes: [] }
  const notes: string[] = []
  const children = new TaskRegistry()
  const moduleName = subject.moduleName
  const resolveFrom = options.resolveFrom ?? (subject.engine === 'postgres' ? subject.resolveFrom : process.cwd())
  // Test scratch space only: a fresh directory per case, never a live board of anyone's.
  const dir = mkdtempSync(join(tmpdir(), `kanban-conformance-${testCase.id}-`))
  const taskOptions = (timeoutMs: number | undefined) => ({
    moduleName,
    resolveFrom,
    engine: subject.engine,
    timeoutMs: timeoutMs ?? testCase.timeoutMs,
  })
  const schemas = new Map<string, string>()
  const openBoards = new Set<Board>()
  const boardSpec = (name = 'board'): BoardSpec => {
    if (!BOARD_NAME.test(name)) throw new Error(`board name '${name}': expected 1-64 of A-Za-z0-9._-`)
    if (subject.engine === 'sqlite') return { engine: 'sqlite', moduleName, resolveFrom, path: join(dir, `${name}.db`) }
    let schema = schemas.get(name)
    if (schema === undefined) {
      schema = caseSchemaName()
      schemas.set(name, schema)
    }
    return { engine: 'postgres', moduleName, resolveFrom, connectionString: subject.connectionString!, schema }
  }
  const openCaseBoard = async ({ name, ...boardOptions }: CaseBoardOptions = {}): Promise<Board> => {
    const spec = boardSpec(name)
    const board =
      spec.engine === 'sqlite'
        ? await openBoard({ ...boardOptions, path: spec.path, adapter: (subject as Extract<Subject, { engine: 'sqlite' }>).adapter })
        : await openBoard({ ...boardOptions, engine: (subject as Extract<Subject, { engine: 'postgres' }>).postgres({ connectionString: spec.connectionString, schema: spec.schema }) })
    openBoards.add(board)
    return board
  }
  const context: CaseContext = {
    engine: subject.engine,
    get adapter(): SqliteAdapter {
      if (subject.engine === 'sqlite') return subject.adapter
      throw new Error(
        `case ${id} used context.adapter on ${subject.engine}, which has no SQLite adapter: declare engines: ['sqlite'], or open the board with context.openBoard / context.boardSpec`,
      )
    },
    moduleName,
    resolveFrom,
    dir,
    path: (name) => join(dir, name),
    boardSpec,
    openBoard: openCaseBoard,
    child: <T>(task: string, args: Record<string, unknown> = {}, spawnOptions: SpawnOptions = {}) =>
      children.add(spawnChildTask<T>(task, args, { ...taskOptions(spawnOptions.timeoutMs), env: spawnOptions.env })).result,
    spawn: <T>(task: string, args: Record<string, unknown> = {}, spawnOptions: SpawnOptions = {}) =>
      children.add(spawnChildTask<T>(task, args, { ...taskOptions(spawnOptions.timeoutMs), env: spawnOptions.env })),
    spawnWorker: <T>(task: string, args: Record<string, unknown> = {}, spawnOptions: SpawnOptions = {}) =>
      children.add(spawnWorkerTask<T>(task, args, taskOptions(spawnOptions.timeoutMs))),
    note: (line) => notes.push(line),
    skip: (reason) => {
      throw new CaseSkipped(reason)
    },
  }
  const started = performance.now()
  let error: unknown
  const cleanup: string[] = []
  let leak = ''
  try {
    await withTimeout(testCase.run(context), testCase.timeoutMs, testCase.id)
  } catch (caught) {
    error = caught
  } finally {
    await children.reapAll()
    let boardsLeftOpen = 0
    for (const board of openBoards) {
      const stop = new AbortController()
      const closed = await Promise.race([
        board.close().then(() => true, () => true),
        delay(CLOSE_LEFT_OPEN_MS, false, { signal: stop.signal }).catch(() => true),
      ])
      stop.abort()
      if (!closed) boardsLeftOpen += 1
      if (!closed) cleanup.push(`a board the case left open (${board.location}) did not close within ${CLOSE_LEFT_OPEN_MS} ms`)
    }
    if (subject.engine === 'postgres' && schemas.size > 0) {
      try {
        await withPostgres(subject.connectionString!, { moduleName, resolveFrom }, async (session) => {
          for (const schema of schemas.values()) {
            await dropCaseSchema(session, schema).catch((dropError: unknown) => cleanup.push(`could not drop schema ${schema}: ${describeError(dropError)}`))
          }
        })
      } catch (connectError) {
        cleanup.push(`could not drop schemas ${[...schemas.values()].join(', ')}: ${describeError(connectError)}`)
      }
    }
    // Every board is closed and every child reaped: a descriptor still on the case's files was
    // left by the adapter. Read from /proc/self/fd (nothing opened); closed here, once no board of
    // the case is still closing, so the cases after this one do not run out of descriptors. The
    // directory is then kept: the driver may still hold its files' inodes as open (SQLite's
    // per-process table of files and their locks), and a later case's file given a freed inode
    // number would inherit that state.
    const leaks = descriptorGuardOn() ? descriptorsUnder(dir) : []
    if (leaks.length > 0 && testCase.leavesDescriptors !== undefined) {
      notes.push(`${describeLeak(dir, leaks).replace('the adapter left', 'left')}: expected (${testCase.leavesDescriptors})`)
      rmSync(dir, { recursive: true, force: true }) // --allow-fs: the case's own scratch directory
    } else if (leaks.length > 0) {
      const closed = boardsLeftOpen === 0 ? closeLeakedDescriptors(leaks) : 0
      const recovery = closed > 0 ? `the runner closed ${closed} of them so later cases can run` : 'left open (a board of the case is still closing)'
      leak = `${describeLeak(dir, leaks)}; ${recovery}, and kept the directory`
    } else {
      rmSync(dir, { recursive: true, force: true }) // --allow-fs: the case's own scratch directory
    }
  }
  const ms = Math.round(performance.now() - started)
  const skipReason = skipReasonOf(error)
  // Cleanup that failed is a failure of its own (a session the engine did not end holds a lock), never hidden by a pass or a skip.
  const cleanupFailure = cleanup.length === 0 ? '' : `after the case: ${cleanup.join('; ')}`
  if (skipReason !== undefined && cleanupFailure === '' && leak === '') return { id, tier, title, status: 'skip', ms, notes, detail: [skipReason, ...notes].join('\n') }
  // A leak comes first: it is what the case's own error (EMFILE, SQLITE_CANTOPEN) is usually about.
  const failure = [leak, error === undefined || skipReason !== undefined ? '' : describeError(error), cleanupFailure].filter(Boolean).join('\n')
  const detail = [failure, ...notes].filter(Boolean).join('\n')
  if (plan.expectFailure !== undefined) {
    return failure === ''
      ? { id, tier, title, status: 'xpass', ms, notes, detail: `known failure passed; remove it from knownFailures (${plan.expectFailure})` }
      : { id, tier, title, status: 'xfail', ms, notes, detail: `known failure (${plan.expectFailure}): ${failure}` }
  }
  return { id, tier, title, status: failure === '' ? 'pass' : 'fail', ms, notes, detail }
}

/** Options for {@link runSuite}. */
export type RunSuiteOptions = RunCaseOptions & { onResult?: (result: CaseResult) => void }

/** Runs every case on one subject, one after another. */
export function runSuite(cases: readonly ConformanceCase[], subject: Subject, options?: RunSuiteOptions): Promise<AdapterReport>
export function runSuite(cases: readonly ConformanceCase[], adapter: SqliteAdapter, moduleName: string, options?: RunSuiteOptions): Promise<AdapterReport>
export async function runSuite(
  cases: readonly ConformanceCase[],
  target: Subject | SqliteAdapter,
  moduleNameOrOptions?: string | RunSuiteOptions,
  maybeOptions: RunSuiteOptions = {},
): Promise<AdapterReport> {
  const subject = asSubject(target, typeof moduleNameOrOptions === 'string' ? moduleNameOrOptions : undefined)
  const options = typeof moduleNameOrOptions === 'object' ? moduleNameOrOptions : maybeOptions
  const results: CaseResult[] = []
  for (const testCase of cases) {
    const result = await runCase(testCase, subject, options).catch((error: unknown): CaseResult => {
      // The runner's own work failed (no temporary directory, no descriptor left): this case fails, the next ones still run.
      const { id, tier, title } = testCase
      return { id, tier, title, status: 'fail', ms: 0, notes: [], detail: `the runner could not run the case: ${describeError(error)}` }
    })
    options.onResult?.(result)
    results.push(result)
  }
  return { ...subjectIdentity(subject), results }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, id: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`case ${id} did not finish within ${ms} ms; its children were killed`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

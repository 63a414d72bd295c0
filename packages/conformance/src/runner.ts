import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SqliteAdapter } from '@kanban-db/core'
import type { CaseContext, ConformanceCase } from './case.js'
import { runChildTask } from './child-process.js'
import { planCase } from './planner.js'
import type { AdapterReport, CaseResult } from './report.js'

/** Options for {@link runCase}. */
export interface RunCaseOptions {
  /** Directory child processes resolve the adapter module from (default: the current directory). */
  readonly resolveFrom?: string
}

/**
 * Runs one case on one adapter, with no test-runner dependency: plans it, gives it a fresh
 * temporary directory, enforces its timeout, turns a known failure into `xfail`/`xpass`.
 */
export async function runCase(
  testCase: ConformanceCase,
  adapter: SqliteAdapter,
  moduleName: string,
  options: RunCaseOptions = {},
): Promise<CaseResult> {
  const plan = planCase(testCase, adapter)
  if (plan.action === 'skip') return { id: testCase.id, status: 'skip', ms: 0, detail: plan.reason }
  const notes: string[] = []
  // Test scratch space only: a fresh directory per case, never a live board of anyone's.
  const dir = mkdtempSync(join(tmpdir(), `kanban-conformance-${testCase.id}-`))
  const context: CaseContext = {
    adapter,
    moduleName,
    dir,
    path: (name) => join(dir, name),
    child: (task, args = {}) =>
      runChildTask(task, args, { moduleName, resolveFrom: options.resolveFrom, timeoutMs: testCase.timeoutMs }),
    note: (line) => notes.push(line),
  }
  const started = performance.now()
  let error: unknown
  try {
    await withTimeout(testCase.run(context), testCase.timeoutMs, testCase.id)
  } catch (caught) {
    error = caught
  } finally {
    rmSync(dir, { recursive: true, force: true }) // --allow-fs: the case's own scratch directory
  }
  const ms = Math.round(performance.now() - started)
  const failure = error === undefined ? '' : describe(error)
  const detail = [failure, ...notes].filter(Boolean).join('\n')
  if (plan.expectFailure !== undefined) {
    return error === undefined
      ? { id: testCase.id, status: 'xpass', ms, detail: `known failure passed; remove it from knownFailures (${plan.expectFailure})` }
      : { id: testCase.id, status: 'xfail', ms, detail: `${plan.expectFailure}: ${failure}` }
  }
  return { id: testCase.id, status: error === undefined ? 'pass' : 'fail', ms, detail }
}

/** Runs every case on one adapter, one after another. */
export async function runSuite(
  cases: readonly ConformanceCase[],
  adapter: SqliteAdapter,
  moduleName: string,
  options: RunCaseOptions & { onResult?: (result: CaseResult) => void } = {},
): Promise<AdapterReport> {
  const results: CaseResult[] = []
  for (const testCase of cases) {
    const result = await runCase(testCase, adapter, moduleName, options)
    options.onResult?.(result)
    results.push(result)
  }
  const { name, driverVersion, sqliteVersion } = adapter.identity
  return { name, moduleName, driverVersion, sqliteVersion, results }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

async function withTimeout<T>(promise: Promise<T>, ms: number, id: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`case ${id} did not finish within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

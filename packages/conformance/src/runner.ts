import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SqliteAdapter } from '@kanban-db/core'
import type { CaseContext, ConformanceCase, SpawnOptions } from './case.js'
import { spawnChildTask } from './child-process.js'
import { planCase } from './planner.js'
import type { AdapterReport, CaseResult } from './report.js'
import { describeError } from './run-task.js'
import { TaskRegistry } from './task-handle.js'
import { spawnWorkerTask } from './worker-thread.js'
import { CaseSkipped, skipReasonOf } from './case-skipped.js'

/** Options for {@link runCase}. */
export interface RunCaseOptions {
  /** Directory child processes resolve the adapter module from (default: the current directory). */
  readonly resolveFrom?: string
}

/**
 * Runs one case on one adapter, with no test-runner dependency: plans it, gives it a fresh
 * temporary directory, enforces its timeout, reaps every child it started (on pass, fail or
 * timeout), and turns a known failure into `xfail`/`xpass`.
 */
export async function runCase(
  testCase: ConformanceCase,
  adapter: SqliteAdapter,
  moduleName: string,
  options: RunCaseOptions = {},
): Promise<CaseResult> {
  const { id, tier, title } = testCase
  const plan = planCase(testCase, adapter)
  if (plan.action === 'skip') return { id, tier, title, status: 'skip', ms: 0, detail: plan.reason, notes: [] }
  const notes: string[] = []
  const children = new TaskRegistry()
  // Test scratch space only: a fresh directory per case, never a live board of anyone's.
  const dir = mkdtempSync(join(tmpdir(), `kanban-conformance-${testCase.id}-`))
  const taskOptions = (timeoutMs: number | undefined) => ({
    moduleName,
    resolveFrom: options.resolveFrom,
    timeoutMs: timeoutMs ?? testCase.timeoutMs,
  })
  const context: CaseContext = {
    adapter,
    moduleName,
    resolveFrom: options.resolveFrom ?? process.cwd(),
    dir,
    path: (name) => join(dir, name),
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
  try {
    await withTimeout(testCase.run(context), testCase.timeoutMs, testCase.id)
  } catch (caught) {
    error = caught
  } finally {
    await children.reapAll()
    rmSync(dir, { recursive: true, force: true }) // --allow-fs: the case's own scratch directory
  }
  const ms = Math.round(performance.now() - started)
  const skipReason = skipReasonOf(error)
  if (skipReason !== undefined) return { id, tier, title, status: 'skip', ms, notes, detail: [skipReason, ...notes].join('\n') }
  const failure = error === undefined ? '' : describeError(error)
  const detail = [failure, ...notes].filter(Boolean).join('\n')
  if (plan.expectFailure !== undefined) {
    return error === undefined
      ? { id, tier, title, status: 'xpass', ms, notes, detail: `known failure passed; remove it from knownFailures (${plan.expectFailure})` }
      : { id, tier, title, status: 'xfail', ms, notes, detail: `known failure (${plan.expectFailure}): ${failure}` }
  }
  return { id, tier, title, status: error === undefined ? 'pass' : 'fail', ms, notes, detail }
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

import { strict as assert } from 'node:assert'
import { openHygienicConnection, resolvePolicy } from '@kanban-db/core/internal'
import type { CaseContext } from '../case.js'
import type { FaultStep, FaultStepResult } from '../child-tasks/faults-script.js'
import { attachFaultPlan, CaseSkipped, countInjected, spawnTracedTask, straceAvailability, type AttachedPlan, type FaultPlan } from '../strace.js'

/**
 * What the `faults.*` cases share (this file is not a case): a seeded WAL board, a script run in a
 * child under a strace fault plan, and the fresh-process verdict on the file.
 */

/** What a fresh process sees (the `faults-verify` child task). */
export interface BoardVerdict {
  readonly journalMode: string
  readonly headerVersions: [number, number] | null
  readonly labels: string[]
  readonly integrity: string[]
}

/** Skips the case (with the reason) when strace is missing or ptrace is refused. */
export function requireStrace(): void {
  const availability = straceAvailability()
  if (!availability.available) throw new CaseSkipped(availability.reason)
}

/** Creates a WAL board at `path` through core's open policy with `seed` rows, then closes it. */
export async function seedBoard(context: CaseContext, path: string, seed: number): Promise<string[]> {
  const board = await openHygienicConnection(context.adapter, path, { policy: resolvePolicy() })
  const labels = Array.from({ length: seed }, (_, index) => `seed-${index}`)
  try {
    board.connection.exec('create table if not exists items (id integer primary key, label text not null unique)')
    const insert = board.connection.prepare('insert into items (label) values (?)')
    for (const label of labels) insert.run([label])
  } finally {
    board.close()
  }
  return labels
}

/** `count` insert steps labelled `prefix-0`, `prefix-1`, ... */
export function inserts(prefix: string, count: number): FaultStep[] {
  return Array.from({ length: count }, (_, index) => ({ op: 'insert', label: `${prefix}-${index}` }) as const)
}

/** What a script under a fault plan did. */
export interface PlanRun {
  /** Each step's outcome, in order. */
  readonly results: FaultStepResult[]
  /** How many calls strace made fail (counted in its trace). */
  readonly injected: number
}

let runs = 0

/** Runs `steps` in a child process under `plan` and returns each step's outcome and how many calls failed. */
export async function runUnderPlan(context: CaseContext, path: string, plan: FaultPlan, steps: readonly FaultStep[]): Promise<PlanRun> {
  const log = context.path(`strace-${++runs}.log`)
  const handle = spawnTracedTask<{ pid: number; results: FaultStepResult[] }>('faults-script', { path, steps }, {
    moduleName: context.moduleName,
    plan: { ...plan, log },
    timeoutMs: 60_000,
  })
  try {
    const { results } = await handle.result
    return { results, injected: countInjected(log) }
  } finally {
    await handle.kill()
  }
}

/**
 * Runs `steps` in an untraced child process and attaches `plan` (strace `-p`) at the script's `arm`
 * step, so `when=A..B` counts the calls made after it: the fault lands on the next operations
 * whatever number of calls the driver made to open the board and commit before. This is what lets
 * another driver's control reproduce the hazard; a plan counted from the process's start is tuned
 * to the bundled drivers' I/O order. The plan is detached when the script ends.
 */
export async function runArmedPlan(context: CaseContext, path: string, plan: FaultPlan, steps: readonly FaultStep[]): Promise<PlanRun> {
  if (steps.filter((step) => step.op === 'arm').length !== 1) throw new Error('runArmedPlan needs exactly one arm step')
  const { value, injected } = await runTaskArmed<{ pid: number; results: FaultStepResult[] }>(context, 'faults-script', { path, steps }, plan)
  return { results: value.results, injected }
}

/**
 * Runs a child task untraced and attaches `plan` when the task says it is at its arm point (it
 * sends `{ armed: pid }` and waits for the answer), so the plan's call range counts from there.
 * Returns what the task returned and how many calls failed.
 */
export async function runTaskArmed<T>(context: CaseContext, task: string, args: Record<string, unknown>, plan: FaultPlan): Promise<{ value: T; injected: number }> {
  const log = context.path(`strace-${++runs}.log`)
  const handle = context.spawn<T>(task, args, { timeoutMs: 90_000 })
  let attached: AttachedPlan | undefined
  try {
    const { armed } = (await handle.receive()) as { armed: number }
    attached = await attachFaultPlan(armed, { ...plan, log })
    handle.send('go')
    const value = await handle.result
    await attached.detach()
    return { value, injected: countInjected(log) }
  } finally {
    await attached?.detach()
    await handle.kill()
  }
}

/** Runs any child task under `plan`; returns what it returned and how many calls failed. */
export async function runTaskUnderPlan<T>(context: CaseContext, task: string, args: Record<string, unknown>, plan: FaultPlan): Promise<{ value: T; injected: number }> {
  const log = context.path(`strace-${++runs}.log`)
  const handle = spawnTracedTask<T>(task, args, { moduleName: context.moduleName, plan: { ...plan, log }, timeoutMs: 90_000 })
  try {
    const value = await handle.result
    return { value, injected: countInjected(log) }
  } finally {
    await handle.kill()
  }
}

/** Reads the board in a fresh, untraced child process. */
export function verdict(context: CaseContext, path: string): Promise<BoardVerdict> {
  return context.child<BoardVerdict>('faults-verify', { path })
}

/** The labels of the inserts that were acknowledged (their COMMIT returned). */
export function acknowledged(results: readonly FaultStepResult[]): string[] {
  return results.filter((result) => result.ok && result.step.op === 'insert').map((result) => (result.step as { label: string }).label)
}

/** The failed steps. */
export function failures(results: readonly FaultStepResult[]): FaultStepResult[] {
  return results.filter((result) => !result.ok)
}

/** Short text of the outcomes, for notes and failure messages. */
export function summary(results: readonly FaultStepResult[]): string {
  return results
    .map((result) => `${result.step.op}${result.ok ? (result.afterReopen ? ':ok-after-reopen' : ':ok') : `:${result.code}/${result.sqliteCode}`}`)
    .join(' ')
}

/**
 * The control every fault case runs first: the plan must really have fired (strace made calls fail)
 * and, unless the errno is one SQLite retries, an operation must have failed. A plan that never hit
 * a call would make the case pass without testing anything.
 */
export function assertPlanFired(run: PlanRun, options: { readonly visible?: boolean } = {}): void {
  if (run.injected === 0) {
    throw new Error(`control did not reproduce the hazard: strace made no call fail (${summary(run.results)})`)
  }
  if ((options.visible ?? true) && failures(run.results).length === 0) {
    throw new Error(`control did not reproduce the hazard: ${run.injected} calls failed but no operation did (${summary(run.results)})`)
  }
}

/**
 * What a user needs after any transient fault: every failure is the named error with SQLite's code
 * kept, the last steps succeed (not wedged), and a fresh process finds a WAL board with every
 * acknowledged commit and integrity ok.
 */
export async function assertRecovered(
  context: CaseContext,
  path: string,
  results: readonly FaultStepResult[],
  expected: { readonly code: string; readonly sqliteCodePrefix: string; readonly seed: readonly string[] },
): Promise<BoardVerdict> {
  const failed = failures(results)
  for (const failure of failed) {
    assert.equal(failure.code, expected.code, `a fault surfaced as ${failure.code} (${failure.message}) instead of ${expected.code}; outcomes: ${summary(results)}`)
    assert.ok(failure.sqliteCode?.startsWith(expected.sqliteCodePrefix), `SQLite's code was not kept: ${failure.sqliteCode}`)
    assert.ok(failure.hasCause, `the driver's error was not kept as cause: ${failure.message}`)
  }
  const last = results.at(-1)
  assert.ok(last?.ok, `the process stayed wedged after the fault window: ${summary(results)}`)
  const board = await verdict(context, path)
  assert.equal(board.journalMode, 'wal', `the board left WAL: ${board.journalMode}`)
  if (board.headerVersions !== null) assert.deepEqual(board.headerVersions, [2, 2], 'header bytes 18/19 are not WAL')
  assert.deepEqual(board.integrity, ['ok'])
  const present = new Set(board.labels)
  const lost = [...expected.seed, ...acknowledged(results)].filter((label) => !present.has(label))
  assert.deepEqual(lost, [], `acknowledged commits were lost: ${lost.join(', ')}`)
  const ghosts = failed.filter((result) => result.step.op === 'insert' && present.has((result.step as { label: string }).label))
  context.note(`outcomes: ${summary(results)}`)
  if (ghosts.length > 0) {
    context.note(`${ghosts.length} insert(s) reported as failed are present after recovery (the commit record reached the WAL before the failing call)`)
  }
  return board
}

import { strict as assert } from 'node:assert'
import { setTimeout as delay } from 'node:timers/promises'
import type { Board, ReleasedClaim } from '@kanban-db/core'
import type { CaseContext } from '../case.js'
import type { SignalTaskKind, SignalWorkerMessage, SignalWorkerResult } from '../child-tasks/work-signal-worker.js'
import type { TaskHandle } from '../task-handle.js'

/**
 * The scenario the `board.work` signal cases share (this file is not a case): worker processes
 * running `board.work` (`work-signal-worker`) on tasks of their own (each process claims only the
 * tasks assigned to it), stopped or killed while each holds its long tasks; then what the board
 * holds, read row by row.
 */

/**
 * The lease of every worker's claims (heartbeated every lease/3 by the worker). Short, so that a
 * control that waits for leases to run out waits seconds; nothing in the real runs waits for it,
 * and nothing takes a claim back while a worker lives.
 */
export const SIGNAL_LEASE_MS = 3_000

/** How many tasks of each kind each worker process gets, claimed in this order (by priority). */
export interface SignalPlan {
  /** Returned at once (claimed first, chained). */
  readonly quick: number
  /** Finished once the process got SIGTERM. */
  readonly drain: number
  /** Never finished: only the task's signal ends them. */
  readonly hold: number
  /** Quick tasks of the lowest priority: nothing is left to claim them while the long ones run, so a stopped worker must never claim them. */
  readonly later: number
}

/** One worker process of the fleet, and its tasks by kind. */
export interface SignalWorker {
  readonly name: string
  readonly handle: TaskHandle<SignalWorkerResult>
  readonly pid: number
  readonly tasks: { readonly quick: readonly string[]; readonly drain: readonly string[]; readonly hold: readonly string[]; readonly later: readonly string[] }
}

/** A fleet of worker processes on one board of the case. */
export interface SignalFleet {
  readonly board: Board
  readonly workers: readonly SignalWorker[]
  /** Every task of the board. */
  readonly ids: readonly string[]
}

const PRIORITY: Readonly<Record<keyof SignalPlan, number>> = { quick: 3, drain: 2, hold: 1, later: 0 }
const KIND: Readonly<Record<keyof SignalPlan, SignalTaskKind>> = { quick: 'quick', drain: 'drain', hold: 'hold', later: 'quick' }

/**
 * Creates each worker's tasks on the case's board `name`, starts `processes` worker processes (two
 * tasks at a time each: the quick ones go first, chained, then the long ones take both slots), and
 * resolves once every process has started all its `drain` and `hold` tasks, so a signal sent now
 * lands mid-task in every process.
 */
export async function startSignalFleet(
  context: CaseContext,
  options: { readonly name: string; readonly processes: number; readonly plan: SignalPlan; readonly stopWiring: 'signals' | 'none' },
): Promise<SignalFleet> {
  assert.ok(options.plan.drain + options.plan.hold === 2, 'the plan must fill both slots of each worker with long tasks')
  const board = await context.openBoard({ name: options.name })
  const spec = context.boardSpec(options.name)
  const workers: SignalWorker[] = []
  const ids: string[] = []
  for (let index = 0; index < options.processes; index += 1) {
    const name = `${options.name}-w${index}`
    const tasks = { quick: [] as string[], drain: [] as string[], hold: [] as string[], later: [] as string[] }
    for (const kind of ['quick', 'drain', 'hold', 'later'] as const) {
      const created = await board.createTasks(
        Array.from({ length: options.plan[kind] }, (_, k) => ({ title: `${name} ${kind} ${k}`, assignee: name, priority: PRIORITY[kind], meta: { kind: KIND[kind] } })),
      )
      tasks[kind].push(...created.map((task) => task.id))
      ids.push(...tasks[kind])
    }
    const handle = context.spawn<SignalWorkerResult>(
      'work-signal-worker',
      { board: spec, workerId: name, assignee: name, leaseMs: SIGNAL_LEASE_MS, concurrency: 2, stopWiring: options.stopWiring, stopTimeoutMs: 120_000 },
      { timeoutMs: 180_000 },
    )
    workers.push({ name, handle, pid: handle.pid, tasks })
  }
  await Promise.all(
    workers.map((worker) => {
      const long = [...worker.tasks.drain, ...worker.tasks.hold]
      return follow(worker, (messages) => long.every((id) => messages.some((message) => message.kind === 'started' && message.id === id)))
    }),
  )
  return { board, workers, ids }
}

/** Reads `worker`'s messages until `done(all so far)` holds (rejects when the process ends first). */
export async function follow(worker: SignalWorker, done: (messages: readonly SignalWorkerMessage[]) => boolean): Promise<void> {
  while (!done(worker.handle.received as SignalWorkerMessage[])) await worker.handle.receive()
}

/** The messages `worker` sent of one kind. */
export function messagesOf<K extends SignalWorkerMessage['kind']>(worker: SignalWorker, kind: K): Array<Extract<SignalWorkerMessage, { kind: K }>> {
  return (worker.handle.received as SignalWorkerMessage[]).filter((message): message is Extract<SignalWorkerMessage, { kind: K }> => message.kind === kind)
}

/** One task as the board holds it, with what its runs and events say. */
export interface TaskLedger {
  readonly id: string
  readonly status: string
  readonly claimToken: string | null
  readonly workerPid: number | null
  readonly claimExpiresAt: number | null
  /** Outcomes of its runs in attempt order (`null`: open). */
  readonly runs: ReadonlyArray<string | null>
  /** How many events of each kind it has. */
  readonly events: Readonly<Record<string, number>>
}

/** Every task of `board`, row by row (tasks, runs, events: read through `board.db` on any engine). */
export async function readLedger(board: Board): Promise<Map<string, TaskLedger>> {
  const tasks = await board.db.selectFrom('tasks').select(['id', 'status', 'claim_token', 'worker_pid', 'claim_expires_at']).execute()
  const runs = await board.db.selectFrom('task_runs').select(['task_id', 'attempt', 'outcome', 'ended_at']).orderBy('task_id').orderBy('attempt').orderBy('started_at').execute()
  const events = await board.db.selectFrom('events').select(['task_id', 'kind']).execute()
  const ledger = new Map<string, { id: string; status: string; claimToken: string | null; workerPid: number | null; claimExpiresAt: number | null; runs: Array<string | null>; events: Record<string, number> }>()
  for (const task of tasks) {
    ledger.set(task.id, {
      id: task.id,
      status: task.status,
      claimToken: task.claim_token,
      workerPid: task.worker_pid === null ? null : Number(task.worker_pid),
      claimExpiresAt: task.claim_expires_at === null ? null : Number(task.claim_expires_at),
      runs: [],
      events: {},
    })
  }
  for (const run of runs) ledger.get(run.task_id)?.runs.push(run.ended_at === null ? null : run.outcome)
  for (const event of events) {
    const entry = ledger.get(event.task_id)
    if (entry) entry.events[event.kind] = (entry.events[event.kind] ?? 0) + 1
  }
  return ledger
}

/**
 * What is wrong with `tasks` once no worker is left (empty: nothing): each task done exactly once
 * (one `completed` event, one completed run) or back to ready with no completion; no task running,
 * no claim token left, no run open; nothing completed twice.
 */
export function unsettled(ledger: ReadonlyMap<string, TaskLedger>, ids: readonly string[]): string[] {
  const problems: string[] = []
  for (const id of ids) {
    const task = ledger.get(id)
    if (!task) {
      problems.push(`task ${id} is missing`)
      continue
    }
    const completedEvents = task.events['completed'] ?? 0
    const completedRuns = task.runs.filter((outcome) => outcome === 'completed').length
    const openRuns = task.runs.filter((outcome) => outcome === null).length
    if (task.status === 'done') {
      if (completedEvents !== 1 || completedRuns !== 1) problems.push(`done task ${id} has ${completedEvents} completed events and ${completedRuns} completed runs`)
    } else if (task.status === 'ready') {
      if (completedEvents !== 0 || completedRuns !== 0) problems.push(`ready task ${id} has ${completedEvents} completed events and ${completedRuns} completed runs`)
    } else {
      problems.push(`task ${id} is ${task.status}${task.status === 'running' ? ` (claim of pid ${task.workerPid}, lease until ${task.claimExpiresAt})` : ''}`)
    }
    if (task.status !== 'running' && task.claimToken !== null) problems.push(`${task.status} task ${id} still holds a claim token`)
    if (openRuns > 0) problems.push(`task ${id} has ${openRuns} open runs`)
  }
  return problems
}

/** The running tasks of `ledger` whose claim belongs to one of `pids`. */
export function claimsOf(ledger: ReadonlyMap<string, TaskLedger>, pids: ReadonlySet<number>): TaskLedger[] {
  return [...ledger.values()].filter((task) => task.status === 'running' && task.workerPid !== null && pids.has(task.workerPid))
}

/** Waits until `condition()` holds, looking every 50 ms; fails after `deadlineMs` saying what it waited for. A bound on failure, never a measure. */
export async function until(what: string, condition: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const giveUpAt = performance.now() + deadlineMs
  while (!(await condition())) {
    if (performance.now() > giveUpAt) throw new Error(`gave up after ${deadlineMs} ms waiting until ${what}`)
    await delay(50)
  }
}

/**
 * Calls `releaseStaleClaims()` (the board's clock) until it has taken back every task of `ids`,
 * as a dispatcher does on a period; returns every claim it released.
 */
export async function reclaimAll(board: Board, ids: readonly string[], deadlineMs: number): Promise<ReleasedClaim[]> {
  const released: ReleasedClaim[] = []
  await until(`releaseStaleClaims took back ${ids.length} claims`, async () => {
    released.push(...(await board.releaseStaleClaims()))
    return ids.every((id) => released.some((claim) => claim.taskId === id))
  }, deadlineMs)
  return released
}

const clocks = new WeakMap<CaseContext, Promise<Board>>()

/** The board's clock now (a task created on the case's `clock` board: the server's time on Postgres, this process's on SQLite). */
export async function boardNow(context: CaseContext): Promise<number> {
  let clock = clocks.get(context)
  if (clock === undefined) clocks.set(context, (clock = context.openBoard({ name: 'clock' })))
  return (await (await clock).createTask({ title: 'what time is it' })).createdAt
}

/**
 * A fresh `board.work` in this process (two at a time, a handler that returns at once) until every
 * task of `ids` is done, or, with `leaveRunning`, until every other task of `ids` is done and the
 * worker has looked again and found nothing to claim. Returns what it reported going wrong.
 */
export async function finishWithFreshWorker(board: Board, ids: readonly string[], options: { readonly leaveRunning?: readonly string[]; readonly deadlineMs: number }): Promise<string[]> {
  const trouble: string[] = []
  // With `leaveRunning` (a control) the worker's own reclaim of expired claims is off too: the
  // control shows what nobody taking claims back leaves behind.
  const worker = board.work(
    { workerId: 'fresh-worker', leaseMs: SIGNAL_LEASE_MS, concurrency: 2, ...(options.leaveRunning !== undefined ? { reclaimEveryMs: 0 } : {}) },
    () => ({ by: 'fresh-worker' }),
  )
  worker.on('failed', ({ task, error }) => trouble.push(`task ${task.id} failed: ${String(error)}`))
  worker.on('lost', ({ taskId, kind }) => trouble.push(`the claim on ${taskId} was lost (${kind})`))
  worker.on('error', ({ error, phase }) => trouble.push(`${phase}: ${String(error)}`))
  let idleSpells = 0
  worker.on('idle', () => (idleSpells += 1))
  const expected = ids.filter((id) => !(options.leaveRunning ?? []).includes(id))
  try {
    await until(`the fresh worker completed ${expected.length} tasks`, async () => {
      const done = await board.listTasks({ status: ['done'] })
      return expected.every((id) => done.some((task) => task.id === id))
    }, options.deadlineMs)
    if (options.leaveRunning !== undefined) {
      // Once it has finished the rest, it must go idle with the others still there: it looked and found nothing it could claim.
      await until('the fresh worker went idle', async () => idleSpells > 0 && worker.running === 0, options.deadlineMs)
    }
  } finally {
    await worker.stop({ timeoutMs: 0 })
  }
  return trouble
}

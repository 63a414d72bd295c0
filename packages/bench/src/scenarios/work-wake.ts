import { type ChildProcess, fork } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { Board } from '@kanban-db/core'
import { sharedNow } from '../clock.ts'
import type { Contender, Figures, RunContext, RunResult } from '../contender.ts'
import { adapterModuleName, type BenchBoard, openBenchBoard } from '../board-client.ts'
import type { Synchronous } from '../baselines/raw-database.ts'
import { CANDIDATE_PREFIX, TIMED_CANDIDATES, WAKE_CANDIDATE_TEXT, WAKE_CANDIDATES, type WakeCandidate } from '../children/wake-sources.ts'
import type { FromWakeChild, ToWakeChild, WakeInit } from '../children/wake-protocol.ts'
import { maximum, percentile } from '../stats.ts'
import { firstWakeAfter, IDLE_WINDOW_MS, measureLocalStarts, START_TIMEOUT_MS, StartWaiter } from '../work-latency.ts'

const CHILD = new URL('../children/wake-child.ts', import.meta.url)
/** Slots of each idle worker (W2, W4): a realistic worker, every slot idle between tasks. */
export const WAKE_CONCURRENCY = 8
const SMOKE_IDLE_WINDOW_MS = 500
/**
 * Quiet before the idle window: the default watch polls every 5 ms for 2 s after the last change it
 * saw, then every 25 ms; W4 is the steady idle state (the fast phase's cost is `dv-5`'s rate).
 */
const QUIET_MS = 2500
/** How long children get to report after `stop`. */
const STOP_GRACE_MS = 30_000
/**
 * W2 cold: a task created after the worker's board saw no commit for this long (the default
 * watch's quietAfterMs, 2 s, plus a margin): the worker is in its slow (25 ms) phase, the state of a
 * worker that has been idle for a while. Rounds of one such task per candidate: 12 (smoke: 1).
 */
const COLD_GAP_MS = 2300
const COLD_ROUNDS = 12
/**
 * W2 warm: tasks 5-15 ms apart (P3's method), this many per candidate (smoke: 10), or as many as
 * this budget allows (at least 10): a candidate that misses wake-ups waits for the worker's 1 s poll
 * on each task.
 */
const WARM_SAMPLES = 100
const WARM_BUDGET_MS = 4000

/**
 * `work-local/<sync>` (W3, SQLite): `createTask` and an idle `board.work` in the same process: from
 * just before createTask to the handler's start. FULL is the default policy (the W3 line); NORMAL
 * (an INFO line) takes the two commits' fsyncs out, leaving the wake-up path and the statements.
 */
export function workLocal(synchronous: Synchronous): Contender {
  return {
    id: `work-local/${synchronous}`,
    description: `W3, SQLite (${synchronous}): createTask to the handler of an idle board.work in the same process; ms`,
    kind: 'kanban-db',
    run: async (context) => {
      const board = await openBenchBoard(join(context.dir, 'board.db'), synchronous)
      try {
        return await measureLocalStarts(board as unknown as Board, context)
      } finally {
        await board.close()
      }
    },
  }
}

interface Start {
  readonly at: number
  readonly wakes: readonly number[]
}

/** One forked wake-up child and what the coordinator keeps about it. */
interface WakeChild {
  readonly candidate: WakeCandidate
  readonly process: ChildProcess
  readonly board: BenchBoard
  readonly starts: StartWaiter<Start>
  readonly ready: Promise<void>
  readonly report: Promise<{ readonly completed: number; readonly failures: readonly string[] }>
  readonly marks: Array<(mark: { readonly cpuMs: number; readonly at: number }) => void>
  created: number
  /** When this process last created a task on the child's board or saw it started (shared clock). */
  lastActivity: number
}

/**
 * `work-wake` (W2 and W4 on SQLite, and the wake-up candidates): one idle worker process per
 * candidate (`WAKE_CANDIDATES`, children/wake-sources.ts), each `board.work` with 8 slots on a board
 * file of its own (in a directory of its own). Three phases, on CLOCK_MONOTONIC (shared by every
 * process here), each time from just before createTask in this process to the handler's start in
 * the worker:
 *
 * - warm: for each candidate in turn, 100 tasks one at a time (or as many as 4 s allow, at least
 *   10), 5-15 ms apart (P3's method: the worker is idle between tasks, but its board changed
 *   milliseconds ago);
 * - cold: 12 rounds of one task per candidate, each created 2.3 s after that candidate's previous
 *   one (the worker idle for longer than the default watch's 2 s fast phase: a worker that has been
 *   waiting for work);
 * - idle: after 2.5 s of quiet, every child's CPU time (user + system, process.cpuUsage in the
 *   child) over 10 s, all at once, nothing writing (W4).
 *
 * Smoke mode: 10 warm tasks, 1 cold round, 0.5 s idle. The default candidate's figures carry no
 * prefix (the W2 and W4 lines read them); every other candidate's are prefixed (`dv5P50Ms`,
 * `fsWatchColdP99Ms`, `dv25IdleCpuPct`, ...).
 */
export function workWake(): Contender {
  return {
    id: 'work-wake',
    description:
      `W2/W4, SQLite: createTask here to the handler of an idle board.work (${WAKE_CONCURRENCY} slots) in another process, ` +
      'per wake-up candidate, warm and cold (ms); each idle worker process\'s CPU (%)',
    kind: 'kanban-db',
    multiProcess: true,
    run: (context) => runWorkWake(context),
  }
}

async function runWorkWake(context: RunContext): Promise<RunResult> {
  const children: WakeChild[] = []
  const failures: string[] = []
  try {
    for (const candidate of WAKE_CANDIDATES) {
      const dir = join(context.dir, candidate)
      mkdirSync(dir)
      children.push(await forkWakeChild(candidate, join(dir, 'board.db')))
    }
    await Promise.all(children.map((child) => child.ready))
    const figures: Figures = {}
    const notes: string[] = []
    const samples: Record<string, number[]> = {}
    const timed = children.filter((child) => TIMED_CANDIDATES.has(child.candidate))
    const name = (child: WakeChild, figure: string): string => {
      const prefix = CANDIDATE_PREFIX[child.candidate]
      return prefix === '' ? figure : `${prefix}${figure[0]!.toUpperCase()}${figure.slice(1)}`
    }
    // Let every worker's first (empty) claims settle.
    await delay(100)
    for (const child of timed) {
      const { latencies, notify } = await warmStarts(child, context, failures)
      figures[name(child, 'p50Ms')] = percentile(latencies, 50)
      figures[name(child, 'p99Ms')] = percentile(latencies, 99)
      figures[name(child, 'maxMs')] = maximum(latencies)
      if (child.candidate === 'default') {
        figures['samples'] = latencies.length
        figures['notifyP50Ms'] = percentile(notify, 50)
      }
      samples[`${child.candidate}:warmMs`] = latencies
      notes.push(
        `${child.candidate} (${WAKE_CANDIDATE_TEXT[child.candidate]}): warm ${latencies.length} samples, p50 ${percentile(latencies, 50).toFixed(2)} ms ` +
          `(its onWake ${percentile(notify, 50).toFixed(2)} ms after createTask began), p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
          `max ${maximum(latencies).toFixed(1)} ms`,
      )
    }
    const cold = await coldStarts(timed, context, failures)
    for (const child of timed) {
      const latencies = cold.get(child) ?? []
      figures[name(child, 'coldP50Ms')] = percentile(latencies, 50)
      figures[name(child, 'coldP99Ms')] = percentile(latencies, 99)
      samples[`${child.candidate}:coldMs`] = latencies
    }
    notes.push(
      `cold (created ${COLD_GAP_MS} ms after the previous task on that board), p50 / max: ` +
        timed.map((child) => `${child.candidate} ${percentile(cold.get(child) ?? [], 50).toFixed(1)} / ${maximum(cold.get(child) ?? []).toFixed(1)} ms`).join(', '),
    )
    // W4: every child idle at once (each on its own board, nothing writes), after the quiet spell.
    const windowMs = context.options.smoke ? SMOKE_IDLE_WINDOW_MS : IDLE_WINDOW_MS
    if (!context.options.smoke) await delay(QUIET_MS)
    const first = await withDeadline(Promise.all(children.map(mark)), STOP_GRACE_MS, 'a wake-up child did not answer a CPU mark')
    await delay(windowMs)
    const last = await withDeadline(Promise.all(children.map(mark)), STOP_GRACE_MS, 'a wake-up child did not answer a CPU mark')
    const idle = children.map((_, i) => (100 * (last[i]!.cpuMs - first[i]!.cpuMs)) / (last[i]!.at - first[i]!.at))
    children.forEach((child, i) => void (figures[name(child, 'idleCpuPct')] = idle[i]!))
    notes.push(`idle CPU over ${(windowMs / 1000).toFixed(1)} s (% of one core): ${children.map((child, i) => `${child.candidate} ${idle[i]!.toFixed(3)}`).join(', ')}`)
    for (const child of children) tell(child.process, { type: 'stop' })
    const reports = await withDeadline(Promise.all(children.map((child) => child.report)), STOP_GRACE_MS, 'a wake-up child did not report after stop')
    children.forEach((child, i) => {
      const report = reports[i]!
      failures.push(...report.failures.map((f) => `${child.candidate}: ${f}`))
      if (report.completed !== child.created) failures.push(`${child.candidate}: ${child.created} tasks created, its worker completed ${report.completed}`)
    })
    return { figures, failures: failures.slice(0, 10), notes, samples }
  } finally {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL')
      await child.board.close().catch(() => {})
    }
  }
}

/** Creates one task on `child`'s board and times it to its handler's start (undefined: never started, a failure). */
async function timeOneStart(child: WakeChild, failures: string[]): Promise<Start & { readonly t0: number } | undefined> {
  const t0 = sharedNow()
  const task = await child.board.createTask({ title: `wake ${child.created++}` })
  const start = await child.starts.startOf(task.id)
  child.lastActivity = sharedNow()
  if (start === undefined) {
    failures.push(`${child.candidate}: task ${task.id} was not started within ${START_TIMEOUT_MS} ms of its creation`)
    return undefined
  }
  return { ...start, t0 }
}

/**
 * Cold rounds: one task per candidate per round, each created once its board has been quiet for
 * {@link COLD_GAP_MS} (the candidates take turns, so a round lasts about that long).
 */
async function coldStarts(timed: readonly WakeChild[], context: RunContext, failures: string[]): Promise<Map<WakeChild, number[]>> {
  const latencies = new Map<WakeChild, number[]>(timed.map((child) => [child, []]))
  const rounds = context.options.smoke ? 1 : COLD_ROUNDS
  for (let round = 0; round < rounds && failures.length < 5; round++) {
    for (const child of timed) {
      await delay(Math.max(0, child.lastActivity + COLD_GAP_MS - sharedNow()))
      const start = await timeOneStart(child, failures)
      if (start) latencies.get(child)!.push(start.at - start.t0)
    }
  }
  return latencies
}

/** Warm: creates tasks on `child`'s board one at a time, 5-15 ms apart, and times each to its handler's start. */
async function warmStarts(child: WakeChild, context: RunContext, failures: string[]): Promise<{ latencies: number[]; notify: number[] }> {
  const latencies: number[] = []
  const notify: number[] = []
  const count = context.options.smoke ? 10 : WARM_SAMPLES
  const until = sharedNow() + WARM_BUDGET_MS
  while (failures.length < 5 && latencies.length < count && (latencies.length < 10 || sharedNow() < until)) {
    await delay(5 + Math.random() * 10)
    const start = await timeOneStart(child, failures)
    if (start) {
      latencies.push(start.at - start.t0)
      const wokenAt = firstWakeAfter(start.wakes, start.t0)
      if (Number.isFinite(wokenAt)) notify.push(wokenAt - start.t0)
    }
  }
  return { latencies, notify }
}

async function forkWakeChild(candidate: WakeCandidate, path: string): Promise<WakeChild> {
  // This process creates the board (and its tasks later); it never listens for wake-ups itself.
  const board = await openBenchBoard(path, 'FULL')
  const process = fork(CHILD, [candidate], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const ready = Promise.withResolvers<void>()
  const report = Promise.withResolvers<{ completed: number; failures: readonly string[] }>()
  const child: WakeChild = {
    candidate, process, board, starts: new StartWaiter<Start>(), ready: ready.promise, report: report.promise, marks: [], created: 0, lastActivity: sharedNow(),
  }
  process.on('message', (message: FromWakeChild) => {
    if (message.type === 'ready') ready.resolve()
    else if (message.type === 'started') child.starts.started(message.id, message)
    else if (message.type === 'mark') child.marks.shift()?.(message)
    else if (message.type === 'report') report.resolve(message)
    else {
      const error = new Error(`wake child ${candidate} failed: ${message.message}`)
      ready.reject(error)
      report.reject(error)
    }
  })
  process.on('exit', (code, signal) => {
    const error = new Error(`wake child ${candidate} exited (${signal ?? code}) before reporting`)
    ready.reject(error)
    report.reject(error)
  })
  process.on('error', () => {})
  ready.promise.catch(() => {})
  report.promise.catch(() => {})
  const init: WakeInit = { type: 'init', candidate, path, adapterModule: adapterModuleName(), concurrency: WAKE_CONCURRENCY }
  tell(process, init)
  return child
}

/** Asks a child for its CPU time so far. */
function mark(child: WakeChild): Promise<{ readonly cpuMs: number; readonly at: number }> {
  return new Promise((resolve) => {
    child.marks.push(resolve)
    tell(child.process, { type: 'mark' })
  })
}

function tell(child: ChildProcess, message: ToWakeChild): void {
  if (child.connected) child.send(message, () => {})
}

async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))])
  } finally {
    clearTimeout(timer)
  }
}

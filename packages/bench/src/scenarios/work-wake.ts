import { type ChildProcess, fork } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { Board } from '@kanban-db/core'
import { sharedNow } from '../clock.ts'
import type { Contender, Figures, RunContext, RunResult } from '../contender.ts'
import { adapterModuleName, type BenchBoard, openBenchBoard } from '../board-client.ts'
import { CANDIDATE_PREFIX, TIMED_CANDIDATES, WAKE_CANDIDATE_TEXT, WAKE_CANDIDATES, type WakeCandidate } from '../children/wake-sources.ts'
import type { FromWakeChild, ToWakeChild, WakeInit } from '../children/wake-protocol.ts'
import { maximum, percentile } from '../stats.ts'
import { IDLE_WINDOW_MS, measureLocalStarts, START_TIMEOUT_MS, StartWaiter } from '../work-latency.ts'

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
 * `work-local` (W3, SQLite): `createTask` and an idle `board.work` in the same process, on a board
 * with the default policy (FULL): from just before createTask to the handler's start.
 */
export function workLocal(): Contender {
  return {
    id: 'work-local',
    description: 'W3, SQLite (FULL): createTask to the handler of an idle board.work in the same process; ms',
    kind: 'kanban-db',
    run: async (context) => {
      const board = await openBenchBoard(join(context.dir, 'board.db'), 'FULL')
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
  readonly wokenAt: number
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
}

/**
 * `work-wake` (W2 and W4 on SQLite, and the wake-up candidates): one idle worker process per
 * candidate (`WAKE_CANDIDATES`, children/wake-sources.ts), each `board.work` with 8 slots on a board
 * file of its own. For each candidate in turn this process creates one task at a time on that
 * candidate's board, 5-15 ms apart (so the worker is idle again), for the run's duration (at least
 * 100 samples; 10 in smoke mode), and times from just before createTask to the handler's start in
 * the other process (CLOCK_MONOTONIC, shared by every process here). Then, after 2.5 s of quiet,
 * every child's CPU time (user + system, process.cpuUsage in the child) over 10 s of idling, all at
 * once (0.5 s in smoke mode). The default candidate's figures carry no prefix (the W2 and W4 lines
 * read them); each other candidate's are prefixed (`dv5P50Ms`, `fsWatchIdleCpuPct`, ...).
 */
export function workWake(): Contender {
  return {
    id: 'work-wake',
    description:
      `W2/W4, SQLite: createTask here to the handler of an idle board.work (${WAKE_CONCURRENCY} slots) in another process, ` +
      'per wake-up candidate (ms); each idle worker process\'s CPU (%)',
    kind: 'kanban-db',
    multiProcess: true,
    run: (context) => runWorkWake(context),
  }
}

async function runWorkWake(context: RunContext): Promise<RunResult> {
  const children: WakeChild[] = []
  const failures: string[] = []
  try {
    for (const candidate of WAKE_CANDIDATES) children.push(await forkWakeChild(candidate, join(context.dir, `${candidate}.db`)))
    await Promise.all(children.map((child) => child.ready))
    const figures: Figures = {}
    const notes: string[] = []
    const samples: Record<string, number[]> = {}
    for (const child of children) {
      if (!TIMED_CANDIDATES.has(child.candidate)) continue
      const { latencies, notify } = await timeStarts(child, context, failures)
      const prefix = CANDIDATE_PREFIX[child.candidate]
      const name = (figure: string): string => (prefix === '' ? figure : `${prefix}${figure[0]!.toUpperCase()}${figure.slice(1)}`)
      figures[name('p50Ms')] = percentile(latencies, 50)
      figures[name('p99Ms')] = percentile(latencies, 99)
      figures[name('maxMs')] = maximum(latencies)
      if (prefix === '') {
        figures['samples'] = latencies.length
        figures['notifyP50Ms'] = percentile(notify, 50)
      }
      samples[`${child.candidate}:startMs`] = latencies
      notes.push(
        `${child.candidate} (${WAKE_CANDIDATE_TEXT[child.candidate]}): ${latencies.length} samples, p50 ${percentile(latencies, 50).toFixed(2)} ms ` +
          `(its onWake ${percentile(notify, 50).toFixed(2)} ms after createTask began), p99 ${percentile(latencies, 99).toFixed(1)} ms, ` +
          `max ${maximum(latencies).toFixed(1)} ms`,
      )
    }
    // W4: every child idle at once (each on its own board, nothing writes), after the quiet spell.
    const windowMs = context.options.smoke ? SMOKE_IDLE_WINDOW_MS : IDLE_WINDOW_MS
    if (!context.options.smoke) await delay(QUIET_MS)
    const first = await withDeadline(Promise.all(children.map(mark)), STOP_GRACE_MS, 'a wake-up child did not answer a CPU mark')
    await delay(windowMs)
    const last = await withDeadline(Promise.all(children.map(mark)), STOP_GRACE_MS, 'a wake-up child did not answer a CPU mark')
    children.forEach((child, i) => {
      const pct = (100 * (last[i]!.cpuMs - first[i]!.cpuMs)) / (last[i]!.at - first[i]!.at)
      const prefix = CANDIDATE_PREFIX[child.candidate]
      figures[prefix === '' ? 'idleCpuPct' : `${prefix}IdleCpuPct`] = pct
    })
    notes.push(
      `idle CPU over ${(windowMs / 1000).toFixed(1)} s (% of one core): ` +
        children.map((child, i) => `${child.candidate} ${((100 * (last[i]!.cpuMs - first[i]!.cpuMs)) / (last[i]!.at - first[i]!.at)).toFixed(3)}`).join(', '),
    )
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

/** Creates tasks on `child`'s board one at a time and times each to its handler's start. */
async function timeStarts(child: WakeChild, context: RunContext, failures: string[]): Promise<{ latencies: number[]; notify: number[] }> {
  const latencies: number[] = []
  const notify: number[] = []
  const minSamples = context.options.smoke ? 10 : 100
  // Smoke mode: the samples alone (six candidates in a row must stay a few seconds).
  const durationMs = context.options.smoke ? 0 : context.durationMs
  // Let the worker's first (empty) claims settle.
  await delay(100)
  const began = sharedNow()
  while (failures.length < 5 && (sharedNow() - began < durationMs || latencies.length < minSamples)) {
    await delay(5 + Math.random() * 10)
    const t0 = sharedNow()
    const task = await child.board.createTask({ title: `wake ${child.created++}` })
    const start = await child.starts.startOf(task.id)
    if (start === undefined) failures.push(`${child.candidate}: task ${task.id} was not started within ${START_TIMEOUT_MS} ms of its creation`)
    else {
      latencies.push(start.at - t0)
      notify.push(start.wokenAt - t0)
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
  const child: WakeChild = { candidate, process, board, starts: new StartWaiter<Start>(), ready: ready.promise, report: report.promise, marks: [], created: 0 }
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

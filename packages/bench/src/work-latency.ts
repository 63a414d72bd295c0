import { setTimeout as delay } from 'node:timers/promises'
import type { Board } from '@kanban-db/core'
import { now } from './clock.ts'
import type { RunContext, RunResult } from './contender.ts'
import { maximum, percentile } from './stats.ts'

/** W4's window: the issue's "over 10 s" (smoke mode uses 0.5 s). */
export const IDLE_WINDOW_MS = 10_000

/** How long a created task may take to reach a handler before it counts as never started (an invariant). */
export const START_TIMEOUT_MS = 5000

/**
 * Matches tasks this process created with the moment a worker's handler started them, whichever
 * comes first (a handler in this process may start a task before `createTask` has returned to its
 * caller: the board wakes its idle workers right after the COMMIT, before it resolves).
 */
export class StartWaiter<Start> {
  readonly #early = new Map<string, Start>()
  readonly #waiting = new Map<string, (start: Start) => void>()

  /** A handler started `id`. */
  started(id: string, start: Start): void {
    const resolve = this.#waiting.get(id)
    if (resolve) resolve(start)
    else this.#early.set(id, start)
  }

  /** When `id` was started; undefined after `timeoutMs` without a start. */
  startOf(id: string, timeoutMs = START_TIMEOUT_MS): Promise<Start | undefined> {
    const start = this.#early.get(id)
    if (start !== undefined) {
      this.#early.delete(id)
      return Promise.resolve(start)
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id)
        resolve(undefined)
      }, timeoutMs)
      this.#waiting.set(id, (started) => {
        clearTimeout(timer)
        this.#waiting.delete(id)
        resolve(started)
      })
    })
  }
}

/**
 * The first of a worker's recent onWake times at or after `t0` (NaN when none): the wake-up that
 * came from a task created at `t0`. The worker's own writes wake it too (after each commit), so the
 * latest wake before a handler starts is usually its own claim's.
 */
export function firstWakeAfter(wakes: readonly number[], t0: number): number {
  for (const at of wakes) if (at >= t0) return at
  return NaN
}

/** CPU time (user + system) of this process, in ms, from `process.cpuUsage`. */
export function cpuMsNow(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

/**
 * W3: an idle `board.work` (one slot) and `createTask` in the same process. Creates one task at a
 * time, 1-3 ms apart (so the worker is idle again), for `durationMs` (at least 100 samples; 10 in
 * smoke mode) and times, on this process's monotonic clock, from just before `createTask` to the
 * handler's start. Also: `createTask`'s own time (its COMMIT acknowledged), and how long after it
 * returned the handler started (negative: the handler started first).
 */
export async function measureLocalStarts(board: Board, context: RunContext): Promise<RunResult> {
  const starts = new StartWaiter<number>()
  const failures: string[] = []
  const worker = board.work({ workerId: 'bench-local', concurrency: 1 }, (task) => {
    starts.started(task.id, now())
  })
  worker.on('error', ({ error, phase }) => void failures.push(`board.work ${phase}: ${error instanceof Error ? error.message : String(error)}`))
  worker.on('lost', ({ taskId, kind }) => void failures.push(`board.work lost task ${taskId} (${kind})`))
  const latencies: number[] = []
  const createMs: number[] = []
  const afterCreateMs: number[] = []
  const minSamples = context.options.smoke ? 10 : 100
  let created = 0
  try {
    // Let the worker's first (empty) claim and its idle bookkeeping pass.
    await delay(50)
    const began = now()
    while (failures.length < 5 && (now() - began < context.durationMs || latencies.length < minSamples)) {
      await delay(1 + Math.random() * 2)
      const t0 = now()
      const task = await board.createTask({ title: `local ${created++}` })
      const t1 = now()
      const at = await starts.startOf(task.id)
      createMs.push(t1 - t0)
      if (at === undefined) failures.push(`task ${task.id} was not started within ${START_TIMEOUT_MS} ms of its creation`)
      else {
        latencies.push(at - t0)
        afterCreateMs.push(at - t1)
      }
    }
  } finally {
    const summary = await worker.stop()
    if (summary.completed !== created) failures.push(`${created} tasks created, board.work completed ${summary.completed}`)
  }
  return {
    figures: {
      p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: maximum(latencies), samples: latencies.length,
      createP50Ms: percentile(createMs, 50), afterCreateP50Ms: percentile(afterCreateMs, 50),
    },
    failures: failures.slice(0, 10),
    notes: [
      `${latencies.length} samples; p50 from just before createTask ${percentile(latencies, 50).toFixed(2)} ms: createTask itself (its COMMIT) ` +
        `${percentile(createMs, 50).toFixed(2)} ms, the handler started ${percentile(afterCreateMs, 50).toFixed(2)} ms after createTask returned`,
    ],
    samples: { startMs: latencies, createMs, afterCreateMs },
  }
}

import type { JsonObject, TaskContext, WorkTask } from '@kanban-db/core'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { boardSpecArg, openSpecBoard } from '../board-spec.js'
import type { TaskChannel } from '../task-channel.js'

/**
 * What a task of the signal cases asks its handler to do (`meta.kind`):
 * - `quick`: return at once;
 * - `drain`: wait until the process got SIGTERM, then return (a handler that finishes within the
 *   stop deadline); without the stop wiring it never returns;
 * - `hold`: never return; end only when the task's signal aborts (a handler the deadline must cut).
 */
export type SignalTaskKind = 'quick' | 'drain' | 'hold'

/** What the worker process tells the parent while it runs, in order. */
export type SignalWorkerMessage =
  | { readonly kind: 'ready'; readonly pid: number }
  | { readonly kind: 'started'; readonly id: string; readonly taskKind: string }
  | { readonly kind: 'claimed'; readonly id: string; readonly chained: boolean }
  | { readonly kind: 'completed'; readonly id: string }
  | { readonly kind: 'released'; readonly id: string; readonly reason: string }
  | { readonly kind: 'trouble'; readonly what: string }

/** What the worker process returns once `worker.stopped` settled (only when it was stopped, not killed). */
export interface SignalWorkerResult {
  readonly pid: number
  readonly summary: { readonly completed: number; readonly failed: number; readonly released: number; readonly lost: number; readonly errors: number; readonly fatal?: string }
  /** Errors, failures and lost claims the worker reported, as text. */
  readonly trouble: readonly string[]
}

/**
 * A worker process of the `work.*` signal cases: opens the case's board (`args.board`) and runs
 * `board.work({ workerId, assignee, leaseMs, concurrency })` with a handler that does what each
 * task's `meta.kind` says ({@link SignalTaskKind}), telling the parent each task it starts and each
 * claim, completion and release. It exits after `await worker.stopped`.
 *
 * With `args.stopWiring: 'signals'` it wires the documented one-liner before anything else can happen:
 * `process.once('SIGTERM', () => worker.stop({ timeoutMs: args.stopTimeoutMs }))`, and a second
 * signal, SIGINT, brings the deadline forward to now (`stop({ timeoutMs: 0 })`). With `'none'`, the
 * control, it wires nothing: SIGTERM ends the process at once, as Node does by default.
 */
export async function workSignalWorker(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<SignalWorkerResult> {
  const workerId = String(args.workerId)
  const wired = args.stopWiring === 'signals'
  const board = await openSpecBoard(boardSpecArg(args), { adapter })
  const trouble: string[] = []
  const tell = (message: SignalWorkerMessage) => void channel.send(message)
  const noted = (what: string) => {
    trouble.push(what)
    tell({ kind: 'trouble', what })
  }
  /** Settles when this process gets SIGTERM (only wired: a listener would turn off Node's default exit). */
  let terminating: Promise<void> = new Promise<void>(() => {})

  const handler = async (task: WorkTask, { signal }: TaskContext): Promise<JsonObject> => {
    const kind = String(task.meta['kind'] ?? 'quick')
    if (kind === 'quick') return { by: workerId }
    tell({ kind: 'started', id: task.id, taskKind: kind })
    if (kind === 'drain') {
      await terminating
      return { by: workerId, after: 'SIGTERM' }
    }
    // `hold`: only the task's signal ends it (the stop deadline, a lost claim).
    return new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason)
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }

  try {
    const worker = board.work(
      { workerId, leaseMs: Number(args.leaseMs), concurrency: Number(args.concurrency ?? 2), ...(args.assignee === undefined ? {} : { assignee: String(args.assignee) }) },
      handler,
    )
    if (wired) {
      process.once('SIGTERM', () => void worker.stop({ timeoutMs: Number(args.stopTimeoutMs) }))
      process.once('SIGINT', () => void worker.stop({ timeoutMs: 0 }))
      // Registered after the stop: by the time a drain handler goes on, the worker is stopping.
      terminating = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()))
    }
    worker.on('claimed', ({ task, chained }) => tell({ kind: 'claimed', id: task.id, chained }))
    worker.on('completed', ({ task }) => tell({ kind: 'completed', id: task.id }))
    worker.on('released', ({ task, reason }) => tell({ kind: 'released', id: task.id, reason }))
    worker.on('failed', ({ task, error }) => noted(`task ${task.id} failed: ${String(error)}`))
    worker.on('lost', ({ taskId, kind }) => noted(`the claim on ${taskId} was lost (${kind})`))
    worker.on('error', ({ error, phase, taskId }) => noted(`${phase}${taskId === undefined ? '' : ` of ${taskId}`}: ${String(error)}`))
    tell({ kind: 'ready', pid: process.pid })
    const { completed, failed, released, lost, errors, fatal } = await worker.stopped
    return { pid: process.pid, summary: { completed, failed, released, lost, errors, ...(fatal === undefined ? {} : { fatal: String(fatal) }) }, trouble }
  } finally {
    await board.close()
  }
}

import type { ReleasedClaim, Task } from '../board/types.js'
import type { WorkAbortKind } from './work-errors.js'

/** What a worker tells its listeners, by event name (for logs and metrics). */
export interface WorkerEventMap {
  /** A task was claimed (`chained`: in the same commit that completed the previous one). */
  claimed: { readonly task: Task; readonly chained: boolean }
  /** A handler returned and its task is done. */
  completed: { readonly task: Task; readonly durationMs: number }
  /**
   * A handler threw (or ran past its `maxRuntimeMs`) and its task was failed: `task.status` says
   * where it went (ready again after `retryAfterMs`, blocked, failed), `rateLimited` when it was
   * requeued without counting.
   */
  failed: { readonly task: Task; readonly error: unknown; readonly retryAfterMs: number; readonly rateLimited: boolean; readonly timedOut: boolean }
  /** A task was handed back unfinished (`stop()` passed its deadline, or a task claimed while stopping). */
  released: { readonly task: Task; readonly reason: string }
  /** A task's claim was lost (its lease ran out and another process took it back, or it was archived); its result, if any, was not stored. */
  lost: { readonly taskId: string; readonly kind: WorkAbortKind | 'refused' }
  /** Claims whose lease ran out (their worker died) taken back by this idle worker (`reclaimEveryMs`). */
  reclaimed: { readonly claims: readonly ReleasedClaim[] }
  /** Every slot is waiting: nothing was ready for this worker. Said once per idle spell. */
  idle: Record<string, never>
  /** Something failed that the worker survives (a claim, a heartbeat, a completion); it goes on. */
  error: { readonly error: unknown; readonly phase: 'claim' | 'heartbeat' | 'complete' | 'fail' | 'release' | 'reclaim' | 'wait' | 'handler-after-abort'; readonly taskId?: string }
  /** The worker has stopped (`stopped` resolved). */
  stopped: WorkerSummary
}

/** What a stopped worker did, also what `worker.stopped` resolves to. */
export interface WorkerSummary {
  readonly workerId: string
  readonly completed: number
  /** Tasks failed by this worker (handler errors, rate limits and timeouts). */
  readonly failed: number
  readonly released: number
  readonly lost: number
  /** Errors the worker survived. */
  readonly errors: number
  /** Set when the worker stopped because the board was closed or unusable, not by `stop()`. */
  readonly fatal?: unknown
}

/** A listener of one worker event. */
export type WorkerListener<E extends keyof WorkerEventMap> = (event: WorkerEventMap[E]) => void

/**
 * The worker's listeners. A throwing listener never stops the worker: it becomes a process warning.
 * An `error` with no listener is a process warning too (never an unhandled 'error' that kills the
 * process, as Node's EventEmitter does).
 */
export class WorkerEvents {
  readonly #listeners = new Map<keyof WorkerEventMap, Set<(event: never) => void>>()

  on<E extends keyof WorkerEventMap>(type: E, listener: WorkerListener<E>): () => void {
    let set = this.#listeners.get(type)
    if (!set) this.#listeners.set(type, (set = new Set()))
    const entry = (event: never): void => listener(event)
    set.add(entry)
    return () => void set.delete(entry)
  }

  emit<E extends keyof WorkerEventMap>(type: E, event: WorkerEventMap[E]): void {
    const set = this.#listeners.get(type)
    if ((!set || set.size === 0) && type === 'error') {
      const { error, phase } = event as WorkerEventMap['error']
      process.emitWarning(`kanban-db worker: ${phase} failed (add a worker.on('error') listener to handle it): ${error instanceof Error ? error.message : String(error)}`)
      return
    }
    for (const listener of [...(set ?? [])]) {
      try {
        ;(listener as WorkerListener<E>)(event)
      } catch (error) {
        process.emitWarning(`kanban-db worker: a '${type}' listener threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
      }
    }
  }
}

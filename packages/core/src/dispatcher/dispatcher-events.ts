import type { OverrunningClaim, ReleasedClaim } from '../board/types.js'
import type { TaskStatus } from '../board/transitions.js'
import type { FailureKind } from '../corruption/failure-kind.js'
import type { QuarantineRecord } from '../corruption/quarantine.js'
import type { CheckpointResult } from '../hygiene/connection-health.js'
import type { ExitDecision } from './exit-policy.js'
import type { ClaimEndReason, TerminationReason, WorkerExit } from './worker-handle.js'

/** Facts every event carries. */
interface EventBase {
  /** The dispatcher's clock when it happened. */
  readonly at: number
  /** The tick it happened in. */
  readonly tick: number
}

/** A tick finished. */
export interface TickEvent extends EventBase {
  readonly type: 'tick'
  readonly durationMs: number
  readonly reaped: number
  readonly spawned: number
  /** Workers still running after the tick. */
  readonly workers: number
  /** Of those, workers the dispatcher is terminating. */
  readonly terminating: number
  readonly quarantined: number
}

/** A task was claimed and its worker started. */
export interface SpawnedEvent extends EventBase {
  readonly type: 'spawned'
  readonly board: string
  readonly taskId: string
  readonly runId: string
  readonly pid: number | undefined
}

/** An exited worker was collected (at the top of a tick, before any per-board work). */
export interface ReapedEvent extends EventBase {
  readonly type: 'reaped'
  readonly board: string
  readonly taskId: string
  readonly pid: number | undefined
  readonly exit: WorkerExit
}

/** A reaped worker's exit was written to its board (or found stale and dropped). */
export interface RecordedEvent extends EventBase {
  readonly type: 'recorded'
  readonly board: string
  readonly taskId: string
  readonly decision: ExitDecision
  /** `written`, or `stale` when the claim had already ended (expired, reclaimed, completed by the worker). */
  readonly outcome: 'written' | 'stale'
}

/** Claims were taken back: leases that expired, or workers of this host that are gone. */
export interface ReclaimedEvent extends EventBase {
  readonly type: 'reclaimed'
  readonly board: string
  readonly reason: 'expired' | 'crashed'
  readonly claims: readonly ReleasedClaim[]
}

/**
 * A running claim is past its task's `maxRuntimeMs` (`board.overrunningClaims`). Emitted once per
 * claim. A claim of one of this dispatcher's workers (`owner: 'this'`) is terminated (`action:
 * 'terminate'`: SIGTERM, then SIGKILL after `killGraceMs`, then `fail` with kind `timeout` once
 * the worker has exited) or, with `onOverrun: 'report'`, only reported. A claim this dispatcher
 * did not make (`owner: 'other'`: another dispatcher, another host, a hand-written worker) is only
 * reported: the dispatcher never signals a process it did not start and never ends a claim it does
 * not hold (see the README's Dispatcher section).
 */
export interface OverranEvent extends EventBase {
  readonly type: 'overran'
  readonly board: string
  readonly claim: OverrunningClaim
  readonly owner: 'this' | 'other'
  readonly action: 'terminate' | 'report'
}

/**
 * The claim of one of this dispatcher's running workers ended under it, not by the worker's own
 * write: the task was archived, its claim was taken back (`reclaimed`), or the task is not on the
 * board any more (`task-gone`). The worker is terminated (`action: 'terminate'`) or, with
 * `onClaimEnded: 'report'`, left running (`report`); either way its exit is not written (the claim
 * is not its own any more). Emitted once per worker. `status` is the task's status now (null when
 * it is gone).
 */
export interface ClaimEndedEvent extends EventBase {
  readonly type: 'claim-ended'
  readonly board: string
  readonly taskId: string
  readonly runId: string
  readonly pid: number | undefined
  readonly reason: ClaimEndReason
  readonly status: TaskStatus | null
  readonly action: 'terminate' | 'report'
}

/**
 * A step of terminating one of this dispatcher's workers: `SIGTERM` was sent; `SIGKILL` was sent
 * (the worker was still running `killGraceMs` after SIGTERM); or `abandoned`: the worker cannot be
 * terminated (its handle has no `kill`, or it was still running `killGraceMs` after SIGKILL), so
 * the dispatcher stops waiting for it: a timed-out claim is failed (kind `timeout`) at once, and a
 * stopping dispatcher leaves the claim to expire. The worker's exit, when it comes, is a `reaped`
 * event as usual.
 */
export interface TerminatingEvent extends EventBase {
  readonly type: 'terminating'
  readonly board: string
  readonly taskId: string
  readonly runId: string
  readonly pid: number | undefined
  readonly reason: TerminationReason
  readonly step: 'SIGTERM' | 'SIGKILL' | 'abandoned'
}

/** A board was confirmed corrupt by a fresh read and closed; it is not written to until it is let out. */
export interface QuarantinedEvent extends EventBase {
  readonly type: 'quarantined'
  readonly board: string
  readonly quarantine: QuarantineRecord
}

/** A quarantined board was probed and is still not healthy; the wait grows. */
export interface ProbedEvent extends EventBase {
  readonly type: 'probed'
  readonly board: string
  readonly verdict: 'corrupt' | 'inconclusive'
  readonly quarantine: QuarantineRecord
}

/** A quarantined board was let out: its file changed, or a probe found it healthy. */
export interface RecoveredEvent extends EventBase {
  readonly type: 'recovered'
  readonly board: string
  readonly how: 'file-changed' | 'probe'
  readonly quarantinedForMs: number
}

/** The periodic passive checkpoint (`checkpointEveryMs`) ran on a board; `result.busy` 1 means a reader kept it from finishing. */
export interface CheckpointedEvent extends EventBase {
  readonly type: 'checkpointed'
  readonly board: string
  readonly result: CheckpointResult
}

/**
 * This tick left a board alone: another dispatcher (in this or another process) was running its
 * turn on it and held its tick lock. Exits of this dispatcher's own workers are still reaped.
 */
export interface SkippedEvent extends EventBase {
  readonly type: 'skipped'
  readonly board: string
  /** `locked`: another dispatcher held the board's tick lock. */
  readonly reason: 'locked'
}

/** Something failed; the dispatcher carried on (the board is retried next tick). */
export interface ErrorEvent extends EventBase {
  readonly type: 'error'
  /** The board, or undefined for the dispatcher itself. */
  readonly board: string | undefined
  /**
   * What was being done: lock, unlock, open, ghost-check, record, release-stale, detect-crashed,
   * heartbeat, supervise (claim-end and `maxRuntimeMs` checks), terminate, claim, spawn, checkpoint,
   * probe, close.
   */
  readonly phase: string
  readonly kind: FailureKind
  /** The error's stable code, when it is a kanban-db error. */
  readonly code: string | undefined
  readonly message: string
  readonly error: unknown
}

/** Every event the dispatcher emits, by `type`. */
export type DispatcherEvent =
  | TickEvent
  | SpawnedEvent
  | ReapedEvent
  | RecordedEvent
  | ReclaimedEvent
  | OverranEvent
  | ClaimEndedEvent
  | TerminatingEvent
  | QuarantinedEvent
  | ProbedEvent
  | RecoveredEvent
  | SkippedEvent
  | CheckpointedEvent
  | ErrorEvent

/** The event type names. */
export type DispatcherEventType = DispatcherEvent['type']

/** The event of one type. */
export type DispatcherEventOf<T extends DispatcherEventType> = Extract<DispatcherEvent, { type: T }>

/** A listener for one event type. */
export type DispatcherListener<T extends DispatcherEventType> = (event: DispatcherEventOf<T>) => void

/**
 * Delivers events to the `events` callback and to `on` listeners, in that order. A listener that
 * throws is ignored (the error goes to `onListenerError`), so logging can never stop a tick.
 */
export class EventHub {
  readonly #listeners = new Map<DispatcherEventType, Set<(event: DispatcherEvent) => void>>()

  constructor(
    private readonly callback: ((event: DispatcherEvent) => void) | undefined,
    private readonly onListenerError: (error: unknown) => void,
  ) {}

  on<T extends DispatcherEventType>(type: T, listener: DispatcherListener<T>): () => void {
    let set = this.#listeners.get(type)
    if (!set) this.#listeners.set(type, (set = new Set()))
    const wrapped = listener as (event: DispatcherEvent) => void
    set.add(wrapped)
    return () => set.delete(wrapped)
  }

  emit(event: DispatcherEvent): void {
    const targets = [...(this.callback ? [this.callback] : []), ...(this.#listeners.get(event.type) ?? [])]
    for (const target of targets) {
      try {
        target(event)
      } catch (error) {
        this.onListenerError(error)
      }
    }
  }
}

import { setTimeout as delay } from 'node:timers/promises'
import { KanbanDbError, type TaskContext, type TaskWorker, type WorkTask } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { boardSpecArg, openSpecBoard } from '../board-spec.js'
import type { TaskChannel } from '../task-channel.js'

/**
 * What a worker does besides claiming and completing. Without a plan (the claim-complete cases)
 * a worker completes each task as soon as it has claimed it and never heartbeats it itself.
 */
export interface ClaimCompleteWorkerPlan {
  /** Each held task is heartbeated on this period (fixed schedule from its claim). */
  readonly heartbeatEveryMs: number
  /** Each task is held for a random time in this range (ms) before it is finished. */
  readonly holdMs: readonly [number, number]
  /**
   * One task at a time is held for a random time in this range (ms) instead, so that each worker
   * always has one task whose heartbeats land while its other slot claims at full speed. Once the
   * parent says `drain` every task holds like the others (a chain of dependencies through held
   * tasks would otherwise stretch the drain by seconds per link).
   */
  readonly longHoldMs: readonly [number, number]
}

/** A claim whose lease had run out before a heartbeat renewed it or the completion ended it, or that the worker lost. */
export interface LostLease {
  readonly taskId: string
  /** Board time the lease ran out (unknown when the worker only learned that its claim was gone). */
  readonly expiredAt?: number
  /** Board time of the heartbeat or completion that found it out. */
  readonly seenAt?: number
  /** `heartbeat`/`complete`: it renewed or ended a lease that had run out; `claim-lost`: `board.work` reported the claim lost. */
  readonly by: 'heartbeat' | 'complete' | 'claim-lost'
}

/** The heartbeats of one worker, when its plan asked for them. */
export interface HeartbeatReport {
  readonly everyMs: number
  /** How late each heartbeat finished after it was due (ms), in order. */
  readonly latenessMs: readonly number[]
  readonly leasesLost: readonly LostLease[]
}

/** What one claim-complete worker reports. */
export interface ClaimCompleteWorkerResult {
  readonly workerId: string
  /** Task ids this worker claimed, in order. */
  readonly claimed: readonly string[]
  /** Task ids this worker completed, in order. */
  readonly completed: readonly string[]
  /** Errors by code (`BUSY`, ...); any entry fails the case. */
  readonly errors: Readonly<Record<string, number>>
  /** The first few error messages, for the report. */
  readonly errorSamples: readonly string[]
  /**
   * How its claims were made: `chained` in the commit that completed the previous task
   * (`completeAndClaimNext`), `plain` by a `claimNext` of their own.
   */
  readonly claims?: { readonly chained: number; readonly plain: number }
  /** Present when the worker ran with a plan. */
  readonly heartbeats?: HeartbeatReport
}

/**
 * A worker of the claim-complete cases: opens the case's board (`args.board`) and runs
 * `board.work` on it (the library's worker loop: claim, complete chaining the next claim, wait for
 * wake-ups while idle) until the parent says `drain` and nothing is left to do (no todo, ready or
 * running task), or says `abort`. Sends `ready` once the board is open. Never throws for a board
 * error: every error, failure, lost claim or release the worker reports is counted by code and
 * stops the worker, so the parent can report every worker's view.
 *
 * Without a plan the worker runs one task at a time (`concurrency: 1`) and its handler returns at
 * once. With a `plan` (args.plan) it runs two at a time: one task at a time is held for seconds, the
 * others for a few ms, and the handler heartbeats what it holds on the plan's period through its
 * context (`heartbeat()`, the call the library itself makes), records how late each heartbeat
 * finished and notices a lease that ran out. The library's own heartbeats come every lease/3, which
 * is far longer than any hold of a plan (the lease is long), so the handler's are the ones measured.
 */
export async function claimCompleteWorker(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<ClaimCompleteWorkerResult> {
  const workerId = String(args.workerId)
  const leaseMs = Number(args.leaseMs ?? 600_000)
  const plan = args.plan as ClaimCompleteWorkerPlan | undefined
  let mode = 'run' as 'run' | 'drain' | 'abort' | 'failed'
  const claimed: string[] = []
  const completed: string[] = []
  const claims = { chained: 0, plain: 0 }
  const errors: Record<string, number> = {}
  const errorSamples: string[] = []
  const latenessMs: number[] = []
  const leasesLost: LostLease[] = []
  /** The lease of each task this worker holds, as it last learned it (board time). */
  const expiresAt = new Map<string, number>()
  let worker: TaskWorker | undefined
  const count = (code: string, sample: string) => {
    errors[code] = (errors[code] ?? 0) + 1
    if (errorSamples.length < 5) errorSamples.push(sample)
    // One error stops the whole worker, every slot.
    if (mode !== 'abort') mode = 'failed'
    void worker?.stop({ timeoutMs: 0 })
  }
  const record = (error: unknown, doing: string) => {
    const code = KanbanDbError.isKanbanDbError(error) ? error.code : error instanceof Error ? error.name : 'UNKNOWN'
    count(code, `${doing}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
  }
  const board = await openSpecBoard(boardSpecArg(args), { adapter })

  /** Holds `task` for `holdMs` (the "work"), heartbeating it on the plan's schedule. */
  const hold = async (task: WorkTask, holdMs: number, context: TaskContext): Promise<void> => {
    if (plan === undefined || holdMs <= 0) return
    const start = performance.now()
    const until = start + holdMs
    let due = start + plan.heartbeatEveryMs
    while (!context.signal.aborted) {
      const now = performance.now()
      if (due <= now && due <= until) {
        try {
          await context.heartbeat()
        } catch (error) {
          record(error, `heartbeat of ${task.id}`)
          throw error
        }
        latenessMs.push(Math.round((performance.now() - due) * 100) / 100)
        // The handler's heartbeat() returns nothing: read the lease it left (only this worker writes this claim).
        const beat = await board.getTask(task.id)
        const known = expiresAt.get(task.id) ?? Number.POSITIVE_INFINITY
        if (beat?.heartbeatAt != null && beat.heartbeatAt >= known) {
          leasesLost.push({ taskId: task.id, expiredAt: known, seenAt: beat.heartbeatAt, by: 'heartbeat' })
        }
        if (beat?.claimExpiresAt != null) expiresAt.set(task.id, beat.claimExpiresAt)
        due += plan.heartbeatEveryMs
      } else if (until <= now) {
        return
      } else {
        await delay(Math.min(due, until) - now, undefined, { signal: context.signal }).catch(() => {})
      }
    }
  }

  const between = ([min, max]: readonly [number, number]) => min + Math.random() * (max - min)
  let longHeld = false
  const handler = async (task: WorkTask, context: TaskContext) => {
    if (plan !== undefined) {
      const long = mode === 'run' && !longHeld
      if (long) longHeld = true
      try {
        await hold(task, between(long ? plan.longHoldMs : plan.holdMs), context)
      } finally {
        if (long) longHeld = false
      }
    }
    return { workerId }
  }

  /** Once drained: stop when nothing is left on the board (no todo, ready or running task). */
  const drain = async () => {
    while (mode === 'drain') {
      try {
        const left = await board.listTasks({ status: ['todo', 'ready', 'running'], limit: 1 })
        if (left.length === 0) {
          await worker?.stop()
          return
        }
      } catch (error) {
        record(error, 'looking for unfinished tasks')
        return
      }
      await delay(20) // polling a condition while the worker drains it, not waiting for time
    }
  }

  try {
    await channel.send('ready')
    worker = board.work({ workerId, leaseMs, concurrency: plan === undefined ? 1 : 2 }, handler)
    worker.on('claimed', ({ task, chained }) => {
      claimed.push(task.id)
      if (chained) claims.chained += 1
      else claims.plain += 1
      expiresAt.set(task.id, task.claimExpiresAt ?? Number.POSITIVE_INFINITY)
    })
    worker.on('completed', ({ task }) => {
      completed.push(task.id)
      const known = expiresAt.get(task.id) ?? Number.POSITIVE_INFINITY
      if (plan !== undefined && task.completedAt !== null && task.completedAt >= known) {
        leasesLost.push({ taskId: task.id, expiredAt: known, seenAt: task.completedAt, by: 'complete' })
      }
      expiresAt.delete(task.id)
    })
    worker.on('error', ({ error, phase, taskId }) => record(error, `${phase}${taskId === undefined ? '' : ` of ${taskId}`}`))
    worker.on('failed', ({ task, error }) => record(error, `handler of ${task.id} (the task failed)`))
    worker.on('lost', ({ taskId, kind }) => {
      leasesLost.push({ taskId, by: 'claim-lost' })
      count('CLAIM_LOST', `the claim on ${taskId} was lost (${kind})`)
    })
    worker.on('released', ({ task, reason }) => {
      if (mode === 'run' || mode === 'drain') count('RELEASED', `task ${task.id} was released (${reason})`)
    })
    // The parent's word, read once the worker exists (messages wait in the channel until then).
    void (async () => {
      for (;;) {
        const message = await channel.receive().catch(() => 'abort')
        if (message === 'drain' && mode === 'run') {
          mode = 'drain'
          void drain()
        }
        if (message === 'abort') {
          mode = 'abort'
          void worker?.stop({ timeoutMs: 0 })
          return
        }
      }
    })()
    await worker.stopped
  } finally {
    await board.close()
  }
  return {
    workerId,
    claimed,
    completed,
    errors,
    errorSamples,
    claims,
    ...(plan === undefined ? {} : { heartbeats: { everyMs: plan.heartbeatEveryMs, latenessMs, leasesLost } }),
  }
}

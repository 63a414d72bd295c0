import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { KanbanDbError, type ClaimedTask, type ClaimOptions, type SqliteAdapter, type Task } from '@kanban-db/core'
import { boardSpecArg, openSpecBoard } from '../board-spec.js'
import type { TaskChannel } from '../task-channel.js'

/** How a worker finishes a task: `complete` then `claimNext`, or both in one commit with `completeAndClaimNext`. */
export type FinishMode = 'complete-then-claim' | 'complete-and-claim-next'

/**
 * What a worker does besides claiming and completing. Without a plan (the claim-complete cases)
 * a worker completes each task as soon as it has claimed it and never heartbeats.
 */
export interface ClaimCompleteWorkerPlan {
  /** Each held task is heartbeated on this period (fixed schedule from its claim). */
  readonly heartbeatEveryMs: number
  /** Each task of the main lane is held for a random time in this range (ms) before it is finished. */
  readonly holdMs: readonly [number, number]
  /**
   * A second lane that holds its task for a random time in this range (ms), so that each worker
   * always has one task whose heartbeats land while the other lanes claim at full speed. Once the
   * parent says `drain` it holds like the main lane (a chain of dependencies through held tasks
   * would otherwise stretch the drain by seconds per link).
   */
  readonly longHoldMs: readonly [number, number]
}

/** A claim whose lease had run out before a heartbeat renewed it or the completion ended it. */
export interface LostLease {
  readonly taskId: string
  /** Board time the lease ran out. */
  readonly expiredAt: number
  /** Board time of the heartbeat or completion that found it out. */
  readonly seenAt: number
  readonly by: 'heartbeat' | 'complete'
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
  /** How this worker finished its tasks. */
  readonly finish?: FinishMode
  /** Present when the worker ran with a plan. */
  readonly heartbeats?: HeartbeatReport
}

/**
 * A worker of the claim-complete cases: opens the case's board (`args.board`), then claims and completes tasks until the
 * parent says `drain` and nothing is left to do (no todo, ready or running task), or says `abort`.
 * Sends `ready` once the board is open. Never throws for a board error: it counts it by code and
 * stops, so the parent can report every worker's view.
 *
 * With a `plan` (args.plan), it runs two lanes under one worker id: the main lane holds each task
 * for a few ms, the long lane for seconds; both heartbeat what they hold on the plan's period,
 * record how late each heartbeat finished and notice a lease that ran out. `args.finish` picks
 * `complete` + `claimNext` or `completeAndClaimNext`.
 */
export async function claimCompleteWorker(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<ClaimCompleteWorkerResult> {
  const workerId = String(args.workerId)
  const leaseMs = Number(args.leaseMs ?? 600_000)
  const plan = args.plan as ClaimCompleteWorkerPlan | undefined
  const finish = (args.finish ?? 'complete-then-claim') as FinishMode
  let mode = 'run' as 'run' | 'drain' | 'abort' | 'failed'
  void (async () => {
    for (;;) {
      const message = await channel.receive().catch(() => 'abort')
      if (message === 'drain' && mode === 'run') mode = 'drain'
      if (message === 'abort') {
        mode = 'abort'
        return
      }
    }
  })()
  const claimed: string[] = []
  const completed: string[] = []
  const errors: Record<string, number> = {}
  const errorSamples: string[] = []
  const latenessMs: number[] = []
  const leasesLost: LostLease[] = []
  const record = (error: unknown) => {
    const code = KanbanDbError.isKanbanDbError(error) ? error.code : error instanceof Error ? error.name : 'UNKNOWN'
    errors[code] = (errors[code] ?? 0) + 1
    if (errorSamples.length < 5) errorSamples.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
    // One error stops the whole worker, every lane.
    if (mode !== 'abort') mode = 'failed'
  }
  const stopped = () => mode === 'abort' || mode === 'failed'
  const board = await openSpecBoard(boardSpecArg(args), { adapter })
  const claim: ClaimOptions = { workerId, pid: process.pid, host: hostname(), leaseMs }

  /** Holds `task` for `holdMs` (the "work"), heartbeating it on the plan's schedule. False when a heartbeat failed. */
  const hold = async (task: ClaimedTask, holdMs: number, expiresAt: { at: number }): Promise<boolean> => {
    if (plan === undefined || holdMs <= 0) return true
    const start = performance.now()
    const until = start + holdMs
    let due = start + plan.heartbeatEveryMs
    for (;;) {
      const now = performance.now()
      if (due <= now && due <= until) {
        let beat: Task
        try {
          beat = await board.heartbeat(task.id, task.claimToken)
        } catch (error) {
          record(error)
          return false
        }
        latenessMs.push(Math.round((performance.now() - due) * 100) / 100)
        if (beat.heartbeatAt !== null && beat.heartbeatAt >= expiresAt.at) {
          leasesLost.push({ taskId: task.id, expiredAt: expiresAt.at, seenAt: beat.heartbeatAt, by: 'heartbeat' })
        }
        expiresAt.at = beat.claimExpiresAt ?? expiresAt.at
        due += plan.heartbeatEveryMs
      } else if (until <= now) {
        return true
      } else {
        await delay(Math.min(due, until) - now)
      }
    }
  }

  /** Notes a completion that came after the claim's lease had run out. */
  const checkCompletion = (done: Task, expiresAt: number) => {
    if (plan !== undefined && done.completedAt !== null && done.completedAt >= expiresAt) {
      leasesLost.push({ taskId: done.id, expiredAt: expiresAt, seenAt: done.completedAt, by: 'complete' })
    }
  }

  /** One lane: claim, hold, finish, until drained, aborted or failed. */
  const lane = async (holdMs: () => number): Promise<void> => {
    let task: ClaimedTask | undefined
    while (!stopped()) {
      if (task === undefined) {
        try {
          task = await board.claimNext(claim)
        } catch (error) {
          record(error)
          return
        }
        if (task === undefined) {
          if (mode === 'drain') {
            const left = await board.listTasks({ status: ['todo', 'ready', 'running'], limit: 1 })
            if (left.length === 0) return
          }
          // Nothing ready yet: poll again shortly (work arrives from other processes' commits).
          await delay(1 + Math.random() * 4)
          continue
        }
        claimed.push(task.id)
      }
      const expiresAt = { at: task.claimExpiresAt ?? Number.POSITIVE_INFINITY }
      if (plan !== undefined && !(await hold(task, holdMs(), expiresAt))) return
      try {
        if (finish === 'complete-and-claim-next') {
          const { completed: done, next } = await board.completeAndClaimNext(task.id, task.claimToken, { workerId }, claim)
          checkCompletion(done, expiresAt.at)
          completed.push(task.id)
          task = next
          if (next !== undefined) claimed.push(next.id)
        } else {
          const done = await board.complete(task.id, task.claimToken, { workerId })
          checkCompletion(done, expiresAt.at)
          completed.push(task.id)
          task = undefined
        }
      } catch (error) {
        record(error)
        return
      }
    }
  }

  try {
    await channel.send('ready')
    const between = ([min, max]: readonly [number, number]) => () => min + Math.random() * (max - min)
    const lanes = [lane(plan === undefined ? () => 0 : between(plan.holdMs))]
    if (plan !== undefined) {
      const long = between(plan.longHoldMs)
      const short = between(plan.holdMs)
      lanes.push(lane(() => (mode === 'run' ? long() : short())))
    }
    await Promise.all(lanes)
  } finally {
    await board.close()
  }
  return {
    workerId,
    claimed,
    completed,
    errors,
    errorSamples,
    finish,
    ...(plan === undefined ? {} : { heartbeats: { everyMs: plan.heartbeatEveryMs, latenessMs, leasesLost } }),
  }
}

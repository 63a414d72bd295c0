import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { KanbanDbError, openBoard, type SqliteAdapter } from '@kanban-db/core'
import type { TaskChannel } from '../task-channel.js'

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
}

/**
 * A worker of the claim-complete cases: opens the board, then claims and completes tasks until the
 * parent says `drain` and nothing is left to do (no todo, ready or running task), or says `abort`.
 * Sends `ready` once the board is open. Never throws for a board error: it counts it by code and
 * stops, so the parent can report every worker's view.
 */
export async function claimCompleteWorker(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<ClaimCompleteWorkerResult> {
  const workerId = String(args.workerId)
  const leaseMs = Number(args.leaseMs ?? 600_000)
  let mode = 'run' as 'run' | 'drain' | 'abort'
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
  const record = (error: unknown) => {
    const code = KanbanDbError.isKanbanDbError(error) ? error.code : error instanceof Error ? error.name : 'UNKNOWN'
    errors[code] = (errors[code] ?? 0) + 1
    if (errorSamples.length < 5) errorSamples.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
  }
  const board = await openBoard({ path: String(args.path), adapter })
  try {
    await channel.send('ready')
    const claim = { workerId, pid: process.pid, host: hostname(), leaseMs }
    while (mode !== 'abort') {
      let task
      try {
        task = await board.claimNext(claim)
      } catch (error) {
        record(error)
        break
      }
      if (task === undefined) {
        if (mode === 'drain') {
          const left = await board.listTasks({ status: ['todo', 'ready', 'running'], limit: 1 })
          if (left.length === 0) break
        }
        // Nothing ready yet: poll again shortly (work arrives from other processes' commits).
        await delay(1 + Math.random() * 4)
        continue
      }
      claimed.push(task.id)
      try {
        await board.complete(task.id, task.claimToken, { workerId })
        completed.push(task.id)
      } catch (error) {
        record(error)
        break
      }
    }
  } finally {
    await board.close()
  }
  return { workerId, claimed, completed, errors, errorSamples }
}

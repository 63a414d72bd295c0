import { readdirSync } from 'node:fs'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { boardSpecArg } from '../board-spec.js'
import type { TaskChannel } from '../task-channel.js'
import { spawnWorkerTask } from '../worker-thread.js'
import type { ClaimCompleteWorkerPlan, ClaimCompleteWorkerResult } from './claim-complete-worker.js'

/** What one claim-complete process reports. */
export interface ClaimCompleteProcessResult {
  readonly pid: number
  readonly workers: readonly ClaimCompleteWorkerResult[]
  /** Workers that ended without a result. */
  readonly workerFailures: readonly string[]
  /** Open fds of this process, sampled while it ran (after its workers opened the board). */
  readonly fds: { readonly first: number; readonly min: number; readonly max: number; readonly last: number; readonly samples: number }
}

/**
 * One process of the claim-complete cases: starts `threads` worker threads that open the case's
 * board (`args.board`: through the adapter they load by module name, or on the Postgres engine) and
 * run `claim-complete-worker` (a `board.work` worker each), sends `ready` when all have opened the
 * board, relays the parent's `drain`/`abort` to them, samples its own fd count, and returns every
 * worker's report. With `args.plan` every worker runs that plan (heartbeats, held tasks).
 */
export async function claimCompleteProcess(_adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<ClaimCompleteProcessResult> {
  const threads = Number(args.threads)
  const board = boardSpecArg(args)
  const plan = args.plan as ClaimCompleteWorkerPlan | undefined
  const workers = Array.from({ length: threads }, (_, index) =>
    spawnWorkerTask<ClaimCompleteWorkerResult>(
      'claim-complete-worker',
      {
        board,
        workerId: `p${String(args.processIndex)}-t${index}`,
        leaseMs: args.leaseMs,
        ...(plan === undefined ? {} : { plan }),
      },
      { moduleName: board.moduleName, resolveFrom: board.resolveFrom, engine: board.engine, timeoutMs: Number(args.timeoutMs) },
    ),
  )
  try {
    await Promise.all(workers.map((worker) => worker.receive()))
    const countFds = () => readdirSync('/proc/self/fd').length
    const first = countFds()
    const fds = { first, min: first, max: first, last: first, samples: 1 }
    const sampler = setInterval(() => {
      const now = countFds()
      fds.min = Math.min(fds.min, now)
      fds.max = Math.max(fds.max, now)
      fds.last = now
      fds.samples += 1
    }, Number(args.sampleMs ?? 1_000))
    await channel.send('ready')
    void (async () => {
      for (;;) {
        const message = await channel.receive()
        for (const worker of workers) worker.send(message)
      }
    })()
    const settled = await Promise.allSettled(workers.map((worker) => worker.result))
    clearInterval(sampler)
    fds.last = countFds()
    return {
      pid: process.pid,
      workers: settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : [])),
      workerFailures: settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : [])),
      fds,
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.kill()))
  }
}

import { join } from 'node:path'
import { createRequire } from 'node:module'
import { better, defineQueue, defineWorker, type Queue } from 'plainjob'
import { Stopwatch } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { Database } from './raw-database.ts'

const require = createRequire(import.meta.url)
/** plainjob's version, for the environment record. */
export const plainjobVersion = (require('plainjob/package.json') as { version: string }).version

const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} }
const REFILL = 20_000

/**
 * `plainjob`: the peer queue's own worker loop (claim in BEGIN IMMEDIATE, fetch, mark done) on
 * better-sqlite3 with the pragmas plainjob sets itself (WAL, synchronous NORMAL, busy_timeout 5000).
 * Jobs per second; the worker's poll never sleeps because the backlog never runs dry.
 */
export function plainjob(): Contender {
  return {
    id: 'plainjob',
    description: `plainjob ${plainjobVersion} worker loop (claim + done), NORMAL as plainjob sets it; jobs per second`,
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const db = new Database(join(context.dir, 'plainjob.db'))
      const queue = defineQueue({
        connection: better(db),
        logger: silent,
        maintenanceInterval: 3_600_000,
      })
      try {
        return await drain(queue, context.durationMs, () => db.pragma('wal_checkpoint(TRUNCATE)'))
      } finally {
        queue.close()
      }
    },
  }
}

async function drain(queue: Queue, durationMs: number, checkpoint: () => void): Promise<RunResult> {
  const failures: string[] = []
  const done = new Set<number>()
  const watch = new Stopwatch()
  const refill = (): void => {
    watch.pause()
    queue.addMany('bench', Array.from({ length: REFILL }, (_, i) => ({ i })))
    checkpoint()
    watch.resume()
  }
  refill()
  let sinceRefill = 0
  let stopping: Promise<void> | undefined
  const worker = defineWorker(
    'bench',
    () => {},
    {
      queue,
      logger: silent,
      pollIntervall: 1,
      onCompleted: (job) => {
        if (done.has(job.id)) failures.push(`plainjob: job ${job.id} completed twice`)
        done.add(job.id)
        if (++sinceRefill >= REFILL / 2) {
          sinceRefill = 0
          refill()
        }
        if (watch.elapsedMs >= durationMs && !stopping) {
          watch.pause()
          stopping = worker.stop()
        }
      },
      onFailed: (job, error) => failures.push(`plainjob: job ${job.id} failed: ${error}`),
    },
  )
  watch.resume()
  await worker.start()
  await stopping
  return { figures: { perSecond: (done.size * 1000) / watch.elapsedMs }, failures: failures.slice(0, 5) }
}

import { hostname } from 'node:os'
import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { benchTasks, openBenchBoard, verifyCompletions } from '../board-client.ts'

const BATCH = 100

/**
 * `board-batched/FULL` (G5b): the whole life of a task under FULL with batching through the public
 * API: `createTasks` of 100 (one commit), then one `writeTxn` in which 100 `claimNext` join as
 * savepoints (one commit), then one `writeTxn` with their 100 `complete` (one commit). Tasks per
 * second through all three.
 */
export function boardBatched(): Contender {
  return {
    id: 'board-batched/FULL',
    description: `createTasks(${BATCH}) + ${BATCH} claimNext in one writeTxn + ${BATCH} complete in one writeTxn, FULL; tasks per second`,
    kind: 'kanban-db',
    run: async (context: RunContext): Promise<RunResult> => {
      const board = await openBenchBoard(join(context.dir, 'board.db'), 'FULL')
      try {
        const failures: string[] = []
        const claim = { workerId: 'bench-batch', pid: process.pid, host: hostname(), leaseMs: 60_000 }
        const seen = new Set<string>()
        let tasks = 0
        const start = now()
        const end = start + context.durationMs
        while (now() < end && failures.length === 0) {
          await board.createTasks(benchTasks(BATCH, tasks))
          const claimed = await board.writeTxn(async () => {
            const batch: Array<{ id: string; claimToken: string }> = []
            for (let i = 0; i < BATCH; i++) {
              const task = await board.claimNext(claim)
              if (task) batch.push(task)
            }
            return batch
          })
          if (claimed.length !== BATCH) failures.push(`claimed ${claimed.length} of ${BATCH} ready tasks in a batch`)
          for (const task of claimed) {
            if (seen.has(task.id)) failures.push(`task ${task.id} claimed twice`)
            seen.add(task.id)
          }
          await board.writeTxn(async () => {
            for (const task of claimed) await board.complete(task.id, task.claimToken, { ok: true })
          })
          tasks += claimed.length
        }
        const elapsed = now() - start
        failures.push(...(await verifyCompletions(board, tasks)))
        return { figures: { tasksPerSecond: (tasks * 1000) / elapsed }, failures: failures.slice(0, 5) }
      } finally {
        await board.close()
      }
    },
  }
}

import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import type { Synchronous } from '../baselines/raw-database.ts'
import { benchTasks, openBenchBoard } from '../board-client.ts'
import { CompiledQuery } from 'kysely'

/** `board-bulk` (G6): `createTasks` of 100 per call (one transaction each), rows per second. */
export function boardBulk(synchronous: Synchronous): Contender {
  return {
    id: `board-bulk/${synchronous}`,
    description: `createTasks, 100 tasks per call, ${synchronous}; rows per second`,
    kind: 'kanban-db',
    run: async (context: RunContext): Promise<RunResult> => {
      const board = await openBenchBoard(join(context.dir, 'board.db'), synchronous)
      try {
        let rows = 0
        const start = now()
        const end = start + context.durationMs
        let t = start
        while (t < end) {
          await board.createTasks(benchTasks(100, rows))
          rows += 100
          t = now()
        }
        const counted = await board.db.executeQuery(CompiledQuery.raw("SELECT count(*) AS n FROM tasks WHERE status = 'ready'"))
        const n = Number((counted.rows[0] as { n: number }).n)
        return {
          figures: { perSecond: (rows * 1000) / (t - start) },
          failures: n === rows ? [] : [`${n} ready tasks on the board after creating ${rows}`],
        }
      } finally {
        await board.close()
      }
    },
  }
}

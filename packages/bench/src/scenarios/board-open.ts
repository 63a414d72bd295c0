import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { benchAdapter, fillBoard, openBenchBoard } from '../board-client.ts'
import { percentile } from '../stats.ts'

/**
 * `board-open` (G7): `openBoard` on an existing, initialised board while another board connection
 * keeps it live (as `raw-open` does), p50 and p99 over `options.opens` opens. Close is not timed.
 */
export function boardOpen(): Contender {
  return {
    id: 'board-open',
    description: 'openBoard on an existing board (policy, pragmas verified, schema current); ms',
    kind: 'kanban-db',
    run: async (context: RunContext): Promise<RunResult> => {
      const path = join(context.dir, 'board.db')
      const adapter = await benchAdapter()
      const keeper = await openBenchBoard(path, 'FULL', adapter)
      try {
        await fillBoard(keeper, 100)
        const times: number[] = []
        for (let i = 0; i < context.options.opens; i++) {
          const start = now()
          const board = await openBenchBoard(path, 'FULL', adapter)
          times.push(now() - start)
          await board.close()
        }
        return { figures: { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) }, failures: [], samples: { openMs: times } }
      } finally {
        await keeper.close()
      }
    },
  }
}

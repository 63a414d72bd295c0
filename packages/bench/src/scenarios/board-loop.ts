import { hostname } from 'node:os'
import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import type { Synchronous } from '../baselines/raw-database.ts'
import { boardPragmas, fillBoard, openBenchBoard, verifyCompletions } from '../board-client.ts'
import { readyBacklog } from './backlog.ts'

/** Where a board loop's pragmas go in the environment record (set once, by the first run). */
export const recordedPragmas: Record<string, Record<string, string | number>> = {}

/**
 * claim+complete through `openBoard`: `callers` async loops in one process, each `claimNext` then
 * `complete` (two board operations, two commits, with their run and event rows).
 * - `board-claim/NORMAL` (G1): 1 caller.
 * - `board-ops/FULL` (G5): 1 caller; every operation is one commit, so operations/s = 2 x cycles/s.
 * - `board-callers8/FULL` (C5): 8 concurrent callers; what group commit can batch.
 */
export function boardLoop(id: string, synchronous: Synchronous, callers: number): Contender {
  return {
    id,
    description: `openBoard, ${callers} async caller(s) claimNext + complete, ${synchronous}; cycles per second`,
    kind: 'kanban-db',
    run: async (context: RunContext): Promise<RunResult> => {
      const path = join(context.dir, 'board.db')
      const setup = await openBenchBoard(path, synchronous)
      await fillBoard(setup, readyBacklog(context))
      await setup.close()
      const board = await openBenchBoard(path, synchronous)
      try {
        recordedPragmas[`board ${synchronous}`] ??= await boardPragmas(board)
        const failures: string[] = []
        const ids = new Set<string>()
        const tokens = new Set<string>()
        let cycles = 0
        let busy = 0
        // An empty ready queue is refilled to the same backlog as raw-claim's, outside the measured time.
        let refilling: Promise<void> | undefined
        let refillMs = 0
        const refill = (): Promise<void> =>
          (refilling ??= (async () => {
            const t = now()
            await fillBoard(board, readyBacklog(context))
            refillMs += now() - t
            refilling = undefined
          })())
        const start = now()
        const end = (): number => start + refillMs + context.durationMs
        const caller = async (n: number): Promise<void> => {
          const claim = { workerId: `bench-${n}`, pid: process.pid, host: hostname(), leaseMs: 60_000 }
          while (now() < end() && failures.length === 0) {
            try {
              const task = await board.claimNext(claim)
              if (!task) {
                await refill()
                continue
              }
              if (ids.has(task.id)) failures.push(`task ${task.id} claimed twice`)
              if (tokens.has(task.claimToken)) failures.push(`claim token ${task.claimToken} handed out twice`)
              ids.add(task.id)
              tokens.add(task.claimToken)
              await board.complete(task.id, task.claimToken, { ok: true })
              cycles++
            } catch (error) {
              if ((error as { code?: string }).code === 'BUSY') busy++
              else failures.push(`caller ${n}: ${(error as Error).message}`)
            }
          }
        }
        await Promise.all(Array.from({ length: callers }, (_, n) => caller(n)))
        const elapsed = now() - start - refillMs
        failures.push(...(await verifyCompletions(board, cycles)))
        if (busy > 0) failures.push(`${busy} Busy errors reached a caller in a single process`)
        const perSecond = (cycles * 1000) / elapsed
        return {
          figures: { perSecond, opsPerSecond: perSecond * 2, busy },
          failures: failures.slice(0, 5),
        }
      } finally {
        await board.close()
      }
    },
  }
}

import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { openRaw } from '../baselines/raw-database.ts'
import { fillBoard, openBenchBoard } from '../board-client.ts'
import { readyBacklog } from './backlog.ts'

/**
 * `design-costs`: what each layer between a caller and SQLite costs per operation, in µs, measured
 * on this run's machine so the README can say where the design holds a figure back:
 * - `kyselyCompileUs`: building and compiling the claim-shaped UPDATE with Kysely (what every board
 *   operation did per call until the hot queries became `PreparedQuery`s, compiled once).
 * - `asyncHopUs`: one `await` of an already-resolved promise (each board call has several).
 * - `rawEmptyTxnUs`: raw BEGIN IMMEDIATE / COMMIT with nothing written (the lock round trip).
 * - `writeTxnEmptyUs`: `board.writeTxn` with an empty callback (queue, BEGIN IMMEDIATE, COMMIT).
 * - `claimSelectRawUs` / `claimSelectBoardUs`: the ready-queue SELECT with its constants written as
 *   literals (as the raw loop and, since schema v3, the board have it), and with `status = ?` and
 *   `limit ?` bound (as Kysely compiles plain values), over the same backlog: what a bound value
 *   costs, since SQLite then prepares the statement again on every execution (the bound LIMIT, and
 *   a bound status against the partial ready-queue index).
 */
export function designCosts(): Contender {
  return {
    id: 'design-costs',
    description: 'per-operation cost of each layer (Kysely compile, await, write queue, query plan); µs',
    kind: 'kanban-db',
    run: async (context: RunContext): Promise<RunResult> => {
      const budget = Math.max(50, context.durationMs / 6)
      const path = join(context.dir, 'board.db')
      const board = await openBenchBoard(path, 'NORMAL')
      const raw = openRaw(join(context.dir, 'raw.db'), 'NORMAL')
      try {
        await fillBoard(board, readyBacklog(context))
        const figures: Record<string, number> = {}
        figures['kyselyCompileUs'] = timeSync(budget, () => {
          board.db
            .updateTable('tasks')
            .set({ status: 'running', claim_token: 'x', claimed_by: 'w', updated_at: 1 })
            .where('id', '=', (eb: any) =>
              eb.selectFrom('tasks').select('id').where('status', '=', 'ready').orderBy('priority', 'desc').orderBy('created_at', 'asc').orderBy('id', 'asc').limit(1),
            )
            .where('status', '=', 'ready')
            .returningAll()
            .compile()
        })
        figures['asyncHopUs'] = await timeAsync(budget, async () => {
          await Promise.resolve()
        })
        const begin = raw.prepare('BEGIN IMMEDIATE')
        const commit = raw.prepare('COMMIT')
        figures['rawEmptyTxnUs'] = timeSync(budget, () => {
          begin.run()
          commit.run()
        })
        figures['writeTxnEmptyUs'] = await timeAsync(budget, () => board.writeTxn(() => undefined))
        const compiled = board.db
          .selectFrom('tasks')
          .select('id')
          .where('status', '=', 'ready')
          .orderBy('priority', 'desc')
          .orderBy('created_at', 'asc')
          .orderBy('id', 'asc')
          .limit(1)
          .compile()
        await board.close()
        const reader = openRaw(path, 'NORMAL')
        try {
          const asBoard = reader.prepare(compiled.sql)
          const named = reader.prepare(
            "SELECT id FROM tasks INDEXED BY tasks_ready_queue WHERE status = 'ready' ORDER BY priority DESC, created_at, id LIMIT 1",
          )
          figures['claimSelectRawUs'] = timeSync(budget, () => named.get())
          figures['claimSelectBoardUs'] = timeSync(budget, () => asBoard.get(...(compiled.parameters as unknown[])))
        } finally {
          reader.close()
        }
        return { figures, failures: [] }
      } finally {
        raw.close()
        await board.close()
      }
    },
  }
}

function timeSync(budgetMs: number, fn: () => unknown): number {
  for (let i = 0; i < 200; i++) fn() // warm up the JIT first
  let n = 0
  const start = now()
  let t = start
  while (t - start < budgetMs) {
    for (let i = 0; i < 16; i++) fn()
    n += 16
    t = now()
  }
  return ((t - start) * 1000) / n
}

async function timeAsync(budgetMs: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn() // warm up the JIT first
  let n = 0
  const start = now()
  let t = start
  while (t - start < budgetMs) {
    for (let i = 0; i < 16; i++) await fn()
    n += 16
    t = now()
  }
  return ((t - start) * 1000) / n
}

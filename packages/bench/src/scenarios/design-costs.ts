import { statSync } from 'node:fs'
import { join } from 'node:path'
import { CompiledQuery } from 'kysely'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { openRaw } from '../baselines/raw-database.ts'
import { boardPragma, fillBoard, openBenchBoard } from '../board-client.ts'
import { openRawBoard, rawBoardLoop, type BoardPolicyPragmas } from '../baselines/raw-board.ts'
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
 * - `kyselyStatementUs` / `rawStatementUs`: one primary-key SELECT through the board's Kysely
 *   instance (executor, plugins, the adapter's statement cache and row conversion) and through a
 *   raw prepared statement: the per-statement price of the layers above the driver.
 * - `savepointUs`: SAVEPOINT / RELEASE inside an open transaction (group commit wraps each caller
 *   in one). `busyTimeoutSwitchUs`: `PRAGMA busy_timeout = 0` then `= 5000` (the write path's switch
 *   around BEGIN). `dataVersionUs`: `PRAGMA data_version`. `walStatUs`: `stat` of the -wal file.
 *   Each raw, on better-sqlite3: what one of the write path's steps costs by itself.
 * - `claimPagesPerCommit` / `completePagesPerCommit`: WAL frames (pages) one claim's and one
 *   complete's commit appends, from the -wal file's growth over 50 operations of `raw-board`'s loop
 *   (the board's statements and rows) with automatic checkpoints off.
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
        const rawPath = join(context.dir, 'raw.db')
        const plain = openRaw(rawPath, 'NORMAL')
        try {
          plain.exec('CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, v INTEGER); INSERT OR IGNORE INTO t VALUES (\'a\', 1)')
          const select = plain.prepare('SELECT * FROM t WHERE id = ?')
          figures['rawStatementUs'] = timeSync(budget, () => select.get('a'))
          const savepoint = plain.prepare('SAVEPOINT s')
          const release = plain.prepare('RELEASE s')
          plain.exec('BEGIN IMMEDIATE')
          figures['savepointUs'] = timeSync(budget, () => {
            savepoint.run()
            release.run()
          })
          plain.exec('COMMIT')
          figures['busyTimeoutSwitchUs'] = timeSync(budget, () => {
            plain.pragma('busy_timeout = 0')
            plain.pragma('busy_timeout = 5000')
          })
          const dataVersion = plain.prepare('PRAGMA data_version')
          figures['dataVersionUs'] = timeSync(budget, () => dataVersion.get())
          figures['walStatUs'] = timeSync(budget, () => statSync(`${rawPath}-wal`, { throwIfNoEntry: false }))
        } finally {
          plain.close()
        }
        const again = await openBenchBoard(join(context.dir, 'statement.db'), 'NORMAL')
        try {
          await again.db.executeQuery(CompiledQuery.raw("CREATE TABLE t (id TEXT PRIMARY KEY, v INTEGER)"))
          await again.db.executeQuery(CompiledQuery.raw("INSERT INTO t VALUES ('a', 1)"))
          const byId = again.db.selectFrom('t').selectAll().where('id', '=', 'a').compile()
          figures['kyselyStatementUs'] = await timeAsync(budget, () => again.db.executeQuery(byId))
        } finally {
          await again.close()
        }
        Object.assign(figures, await pagesPerCommit(join(context.dir, 'pages.db')))
        return { figures, failures: [] }
      } finally {
        raw.close()
        await board.close()
      }
    },
  }
}

/** WAL frames per claim commit and per complete commit of raw-board's loop, checkpoints off. */
async function pagesPerCommit(path: string): Promise<Record<string, number>> {
  const board = await openBenchBoard(path, 'NORMAL')
  const pragmas: Record<string, number> = {}
  let pageSize = 4096
  try {
    for (const name of ['foreign_keys', 'secure_delete', 'cell_size_check']) pragmas[name] = Number(await boardPragma(board, name))
    pageSize = Number(await boardPragma(board, 'page_size'))
  } finally {
    await board.close()
  }
  pragmas['wal_autocheckpoint'] = 0
  const db = openRawBoard(path, 'NORMAL', pragmas as BoardPolicyPragmas)
  try {
    const loop = rawBoardLoop(db, 'pages')
    const operations = 50
    loop.refill(operations * 2) // ends with a TRUNCATE checkpoint: the -wal file is empty
    const walBytes = (): number => statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0
    const frames = (bytes: number): number => Math.max(0, bytes - 32) / (pageSize + 24)
    const before = walBytes()
    const claimed = []
    for (let i = 0; i < operations; i++) claimed.push(loop.claim(Date.now(), 60_000)!)
    const afterClaims = walBytes()
    for (const task of claimed) loop.complete(task.id, task.token)
    const afterCompletes = walBytes()
    return {
      claimPagesPerCommit: (frames(afterClaims) - frames(before)) / operations,
      completePagesPerCommit: (frames(afterCompletes) - frames(afterClaims)) / operations,
    }
  } finally {
    db.close()
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

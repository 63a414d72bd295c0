import { join } from 'node:path'
import type { SqliteAdapter, SqliteConnection, SqliteStatement } from '@kanban-db/core'
import { benchAdapter, benchTasks, openBenchBoard } from '../board-client.ts'
import type { Synchronous } from './raw-database.ts'

/**
 * The SQL texts of the statements that touch the board's tables (select, insert, update, delete)
 * which the board runs for one `claimNext` + `complete` and one `completeAndClaimNext`, recorded at
 * the driver boundary (a wrapping adapter) on a scratch board in `dir`. The write path's own
 * statements (BEGIN, COMMIT, PRAGMA) are left out: raw loops take the lock their own way.
 */
export async function recordBoardCycleStatements(dir: string, synchronous: Synchronous): Promise<Set<string>> {
  const recorded = new Set<string>()
  let recording = false
  const adapter = recordingAdapter(await benchAdapter(), (sql) => {
    if (recording && /^\s*(select|insert|update|delete)\b/i.test(sql)) recorded.add(sql.trim())
  })
  const board = await openBenchBoard(join(dir, 'statement-record.db'), synchronous, adapter)
  try {
    await board.createTasks(benchTasks(3))
    const claim = { workerId: 'recorder', pid: process.pid, host: 'recorder', leaseMs: 60_000 }
    recording = true
    const first = await board.claimNext(claim)
    if (!first) throw new Error('the scratch board had no ready task to claim')
    await board.complete(first.id, first.claimToken, { ok: true })
    const second = await board.claimNext(claim)
    if (!second || typeof board.completeAndClaimNext !== 'function') return recorded
    const { next } = await board.completeAndClaimNext(second.id, second.claimToken, { ok: true }, claim)
    recording = false
    if (next) await board.complete(next.id, next.claimToken, { ok: true })
    return recorded
  } finally {
    await board.close()
  }
}

/**
 * How `raw` (a raw loop's statements) and `board` (recorded by {@link recordBoardCycleStatements})
 * differ, one line per statement only one of them runs; empty when they are the same.
 */
export function statementDrift(raw: readonly string[], board: ReadonlySet<string>): string[] {
  const rawSet = new Set(raw)
  return [
    ...[...board].filter((sql) => !rawSet.has(sql)).map((sql) => `the board runs, raw-board does not: ${sql}`),
    ...raw.filter((sql) => !board.has(sql)).map((sql) => `raw-board runs, the board does not: ${sql}`),
  ]
}

/** `adapter`, with every statement's SQL passed to `seen` each time it runs. */
function recordingAdapter(adapter: SqliteAdapter, seen: (sql: string) => void): SqliteAdapter {
  return {
    ...adapter,
    open: async (...args: Parameters<SqliteAdapter['open']>) => recordingConnection(await adapter.open(...args), seen),
  }
}

function recordingConnection(connection: SqliteConnection, seen: (sql: string) => void): SqliteConnection {
  return new Proxy(connection, {
    get(target, key) {
      if (key === 'exec') {
        return (sql: string): void => {
          seen(sql)
          target.exec(sql)
        }
      }
      if (key === 'prepare') {
        return (sql: string): SqliteStatement => {
          const statement = target.prepare(sql)
          return {
            reader: statement.reader,
            all: (parameters) => (seen(sql), statement.all(parameters)),
            run: (parameters) => (seen(sql), statement.run(parameters)),
            finalize: () => statement.finalize(),
          }
        }
      }
      const value = Reflect.get(target, key, target) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}

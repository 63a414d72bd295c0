import { join } from 'node:path'
import type { SqliteAdapter } from '@kanban-db/core'
import type { SqliteConnection, SqliteStatement } from '@kanban-db/core/adapter'
import { benchAdapter, benchTasks, openBenchBoard } from '../board-client.ts'
import type { Synchronous } from './raw-database.ts'

/** The board operations a raw board loop mirrors, each checked statement by statement. */
export type BoardOperation = 'claimNext' | 'complete' | 'completeAndClaimNext'

/**
 * The statements one operation runs, in the order it runs them: the SQL text of every statement
 * except the write path's own (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, PRAGMA), which raw
 * loops replace with their own way of taking the lock.
 */
export type OperationStatements = Readonly<Partial<Record<BoardOperation, readonly string[]>>>

/** The write path's own statements, left out of every recording: everything else is compared. */
const WRITE_PATH_STATEMENT = /^\s*(begin|commit|end|rollback|savepoint|release|pragma)\b/i

/**
 * Records, at the driver boundary (a wrapping adapter) on a scratch board in `dir`, the statements
 * the board runs for one `claimNext`, one `complete` and one `completeAndClaimNext` (absent when
 * the board has none), each as an ordered list of SQL texts (see {@link OperationStatements}).
 * Bound values are not recorded: ids, tokens and times differ on every call.
 */
export async function recordBoardCycleStatements(dir: string, synchronous: Synchronous): Promise<OperationStatements> {
  const recorded: Partial<Record<BoardOperation, string[]>> = {}
  let current: string[] | undefined
  const adapter = recordingAdapter(await benchAdapter(), (sql) => {
    if (current && !WRITE_PATH_STATEMENT.test(sql)) current.push(sql.trim())
  })
  const record = async <T>(operation: BoardOperation, run: () => Promise<T>): Promise<T> => {
    current = recorded[operation] = []
    try {
      return await run()
    } finally {
      current = undefined
    }
  }
  const board = await openBenchBoard(join(dir, 'statement-record.db'), synchronous, adapter)
  try {
    await board.createTasks(benchTasks(3))
    const claim = { workerId: 'recorder', pid: process.pid, host: 'recorder', leaseMs: 60_000 }
    const first = await record('claimNext', () => board.claimNext(claim))
    if (!first) throw new Error('the scratch board had no ready task to claim')
    await record('complete', () => board.complete(first.id, first.claimToken, { ok: true }))
    const second = await board.claimNext(claim)
    if (!second) throw new Error('the scratch board had no second ready task to claim')
    if (typeof board.completeAndClaimNext !== 'function') return recorded
    const { next } = await record('completeAndClaimNext', () => board.completeAndClaimNext!(second.id, second.claimToken, { ok: true }, claim))
    if (!next) throw new Error('completeAndClaimNext claimed nothing on a scratch board with a ready task left')
    await board.complete(next.id, next.claimToken, { ok: true })
    return recorded
  } finally {
    await board.close()
  }
}

/**
 * How the raw loop's statements (`raw`, one reference list per operation) differ from the board's
 * (`board`, recorded by {@link recordBoardCycleStatements}), compared as sequences: per operation
 * the first position where they differ (or where one list ends), with both texts; empty when every
 * operation the board recorded runs the same SQL texts in the same order. An operation the board
 * does not have (an older core without `completeAndClaimNext`) is not compared.
 */
export function statementDrift(raw: Readonly<Record<BoardOperation, readonly string[]>>, board: OperationStatements): string[] {
  const drift: string[] = []
  for (const operation of Object.keys(raw) as BoardOperation[]) {
    const boardList = board[operation]
    if (!boardList) continue
    const rawList = raw[operation]
    const length = Math.max(rawList.length, boardList.length)
    for (let i = 0; i < length; i++) {
      if (rawList[i] === boardList[i]) continue
      drift.push(
        `${operation}: statement ${i + 1} of ${boardList.length} (board) / ${rawList.length} (raw-board) differs: ` +
          `the board runs ${boardList[i] ?? '(nothing)'}; raw-board runs ${rawList[i] ?? '(nothing)'}`,
      )
      break
    }
  }
  return drift
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

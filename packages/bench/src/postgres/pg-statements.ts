import pg from 'pg'
import { openPgBoard, pgBenchTasks } from './pg-server.ts'

/** The board operations the raw Postgres loop mirrors, each checked statement by statement. */
export type PgOperation = 'claimNext' | 'complete' | 'completeAndClaimNext'

// The board's statements, verbatim as core sends them to node-postgres on the Postgres engine
// (recorded at the driver boundary by recordPgBoardStatements below, which every run repeats and
// compares with these lists). Unlike SQLite's, the transaction's own statements are part of the
// comparison: on a server they are round trips like any other, and the raw loop sends the same ones.

/** The write path's BEGIN (adapter-postgres: pool-transactions.ts). */
const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED'
const COMMIT = 'COMMIT'
/** The board's clock: the server's, inside the transaction (adapter-postgres: engine.ts, now). */
const SERVER_NOW = 'SELECT (extract(epoch from clock_timestamp()) * 1000)::int8 AS now'
/** promoteDueIn, first thing in every claim (core: scheduling.ts), locking what it promotes. */
const DUE_TASKS = `select "id", "due_at" from "tasks" where "status" = 'scheduled' and "due_at" <= $1 order by "due_at", "id" for no key update skip locked`
/** The claim (core: claims.ts, claimAnyReady): the ready queue's head whose backoff (`not_before`) has passed, skipping rows other claimers hold. */
const CLAIM_ANY_READY =
  'update "tasks" set "status" = $1, "claim_token" = $2, "claimed_by" = $3, "worker_pid" = $4, "worker_host" = $5, "claimed_at" = $6, ' +
  '"claim_expires_at" = $7, "lease_ms" = $8, "heartbeat_at" = $9, "started_at" = $10, "current_run_id" = $11, "not_before" = $12, "attempts" = "attempts" + $13, ' +
  `"updated_at" = $14 where "id" = (select "id" from "tasks" where "status" = 'ready' and ("not_before" is null or "not_before" <= $15) ` +
  `order by "priority" desc, "created_at" asc, "id" asc limit 1 for no key update skip locked) and "status" = 'ready' returning *`
/** The run row a claim opens (core: claims.ts, openRun). */
const OPEN_RUN = 'insert into "task_runs" ("id", "task_id", "attempt", "worker_id", "pid", "host", "claim_token", "started_at") values ($1, $2, $3, $4, $5, $6, $7, $8)'
/** Every event (core: event-log.ts); the events table's statement trigger takes the event-order advisory lock. */
const INSERT_EVENT = 'insert into "events" ("task_id", "run_id", "kind", "from_status", "to_status", "payload", "created_at") values ($1, $2, $3, $4, $5, $6, $7)'
/** The completion (core: claims.ts, completeRunning). */
const COMPLETE_RUNNING =
  'update "tasks" set "claim_token" = $1, "claimed_by" = $2, "worker_pid" = $3, "worker_host" = $4, "claimed_at" = $5, "claim_expires_at" = $6, ' +
  '"lease_ms" = $7, "heartbeat_at" = $8, "status" = $9, "result" = $10, "completed_at" = $11, "updated_at" = $12, "consecutive_failures" = $13, ' +
  `"block_kind" = $14, "block_recurrences" = $15 where "id" = $16 and "status" = 'running' and "claim_token" = $17 returning *`
/** The run's end (core: runs.ts, closeRun). */
const CLOSE_RUN = 'update "task_runs" set "ended_at" = $1, "outcome" = $2, "error" = $3 where "id" = $4 and "ended_at" is null'
/** The completed task's dependents, locked before they are counted (core: dependencies.ts). */
const LOCK_DEPENDENTS = 'select "id" from "tasks" where "id" in (select "task_id" from "task_dependencies" where "depends_on_id" = $1) order by "id" for no key update'

/** The statements of the raw loop, by name, for {@link PgRawLoop}. */
export const PG_SQL = {
  BEGIN, COMMIT, SERVER_NOW, DUE_TASKS, CLAIM_ANY_READY, OPEN_RUN, INSERT_EVENT, COMPLETE_RUNNING, CLOSE_RUN, LOCK_DEPENDENTS,
} as const

const CLAIM_IN = [SERVER_NOW, DUE_TASKS, CLAIM_ANY_READY, OPEN_RUN, INSERT_EVENT]
const COMPLETE_IN = [COMPLETE_RUNNING, CLOSE_RUN, LOCK_DEPENDENTS, INSERT_EVENT]

/**
 * What each operation of the raw Postgres loop sends, in order: the reference the board's recorded
 * statements are compared with. On Postgres claimNext has no plain read first (the claim itself is
 * as cheap), and completeAndClaimNext reads the clock once for both halves.
 */
export const RAW_PG_STATEMENTS: Readonly<Record<PgOperation, readonly string[]>> = {
  claimNext: [BEGIN, ...CLAIM_IN, COMMIT],
  complete: [BEGIN, SERVER_NOW, ...COMPLETE_IN, COMMIT],
  completeAndClaimNext: [BEGIN, SERVER_NOW, ...COMPLETE_IN, ...CLAIM_IN.slice(1), COMMIT],
}

/** Every SQL text a board sent for each operation, in order. */
export type PgOperationStatements = Readonly<Partial<Record<PgOperation, readonly string[]>>>

/**
 * Records, at the driver boundary, what a Postgres board sends for one claimNext, one complete and
 * one completeAndClaimNext: a node-postgres `Client` subclass given to the engine's pool (the
 * `Client` pool option) sees the text of every query on every pooled connection. Runs in `schema`,
 * which must be fresh (the caller drops it). Bound values are not recorded.
 */
export async function recordPgBoardStatements(url: string, schema: string): Promise<PgOperationStatements> {
  const recorded: Partial<Record<PgOperation, string[]>> = {}
  let current: string[] | undefined
  class RecordingClient extends pg.Client {
    override query(...args: unknown[]): never {
      const first = args[0] as string | { text?: string } | undefined
      const text = typeof first === 'string' ? first : first?.text
      if (current && text !== undefined) current.push(text.trim())
      return (super.query as (...a: unknown[]) => never)(...args)
    }
  }
  const board = await openPgBoard(url, schema, { Client: RecordingClient } as pg.PoolConfig)
  const record = async <T>(operation: PgOperation, run: () => Promise<T>): Promise<T> => {
    current = recorded[operation] = []
    try {
      return await run()
    } finally {
      current = undefined
    }
  }
  try {
    await board.createTasks(pgBenchTasks(3))
    const claim = { workerId: 'recorder', pid: process.pid, host: 'recorder', leaseMs: 60_000 }
    const first = await record('claimNext', () => board.claimNext(claim))
    if (!first) throw new Error('the scratch board had no ready task to claim')
    await record('complete', () => board.complete(first.id, first.claimToken, { ok: true }))
    const second = await board.claimNext(claim)
    if (!second) throw new Error('the scratch board had no second ready task to claim')
    const { next } = await record('completeAndClaimNext', () => board.completeAndClaimNext(second.id, second.claimToken, { ok: true }, claim))
    if (!next) throw new Error('completeAndClaimNext claimed nothing on a scratch board with a ready task left')
    await board.complete(next.id, next.claimToken, { ok: true })
    return recorded
  } finally {
    await board.close()
  }
}

/**
 * How the raw loop's statements differ from the board's, per operation: the first position where
 * the ordered lists differ (or one ends), with both texts. Empty while the raw loop sends what the
 * board sends. Each entry is reported as a failure: the baseline no longer runs the board's SQL.
 */
export function pgStatementDrift(board: PgOperationStatements): string[] {
  const drift: string[] = []
  for (const operation of Object.keys(RAW_PG_STATEMENTS) as PgOperation[]) {
    const boardList = board[operation]
    const rawList = RAW_PG_STATEMENTS[operation]
    if (!boardList) {
      drift.push(`${operation}: nothing recorded from the board`)
      continue
    }
    const length = Math.max(rawList.length, boardList.length)
    for (let i = 0; i < length; i++) {
      if (rawList[i] === boardList[i]) continue
      drift.push(
        `statement drift, ${operation}: statement ${i + 1} of ${boardList.length} (board) / ${rawList.length} (raw pg loop) differs: ` +
          `the board sends ${boardList[i] ?? '(nothing)'}; the raw loop sends ${rawList[i] ?? '(nothing)'}`,
      )
      break
    }
  }
  return drift
}

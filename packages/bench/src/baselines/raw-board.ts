import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { boardPragma, openBenchBoard } from '../board-client.ts'
import { recordBoardCycleStatements, statementDrift, type BoardOperation } from './board-statements.ts'
import { rawTransactions, timedClaimCompleteLoop, type RawClaimed, type RawClaimLoop } from './raw-claim.ts'
import { openRaw, type Synchronous } from './raw-database.ts'

/**
 * `raw-board/<sync>`: a hand-written better-sqlite3 loop that writes the board's own rows. It runs,
 * per claim+complete cycle, the statements `@kanban-db/core`'s board runs on better-sqlite3: the
 * same SQL texts in the same order (prepared once, checked against the board's own at the driver
 * boundary, see {@link createRawBoard}) and rows of the same shape (a run row per claim, a `claimed`
 * and a `completed` event, the due-scheduled select and the dependents select; the bound values are
 * built as the board builds them but not compared), on a file `openBoard` created, so the schema, every index and `user_version` are the board's own.
 * None of kanban-db's JavaScript runs: no Kysely, no write queue, no busy_timeout switching, no
 * `PRAGMA data_version`, no -wal stat. One commit per operation, two per cycle.
 *
 * It answers: what does any implementation that writes the board's rows get from SQLite here? The
 * reference for G5 (the `G5 vs raw-board` line) and, batched and in a fleet, for the ceiling lines
 * of C1 and C5.
 */
export function rawBoard(synchronous: Synchronous): Contender {
  return {
    id: `raw-board/${synchronous}`,
    description: `better-sqlite3 running the board's own claim and complete statements, two transactions, ${synchronous}; cycles per second`,
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const { db, drift } = await createRawBoard(join(context.dir, 'raw-board.db'), synchronous)
      try {
        const loop = rawBoardLoop(db, 'raw-board')
        const failures: string[] = [...drift]
        const { cycles, elapsedMs } = timedClaimCompleteLoop(loop, context, 'raw-board', failures)
        failures.push(...loop.verify(cycles, 'raw-board'))
        return { figures: { perSecond: (cycles * 1000) / elapsedMs }, failures: failures.slice(0, 5) }
      } finally {
        db.close()
      }
    },
  }
}

/** The raw board loop: the raw claim loop's operations, on the board's statements and rows. */
export interface RawBoardLoop extends RawClaimLoop {
  /**
   * Completes `id` and claims the next ready task in ONE transaction, as the board's
   * `completeAndClaimNext` does (the same SQL texts in the same order, without the ready-queue
   * read that precedes a lone claim). Joins the open {@link RawClaimLoop.batch} if there is one.
   */
  completeAndClaimNext(id: string, token: string, nowMs: number, leaseMs: number): { readonly completed: boolean; readonly next: RawClaimed | undefined }
  /**
   * Checks the rows against `cycles` claim+complete cycles run on this file: as many done tasks,
   * closed `completed` runs and `claimed` / `completed` events. Returns broken invariants.
   */
  verify(cycles: number, label: string): string[]
}

/**
 * The policy pragmas a board's connection sets, read back from the board that created the file:
 * better-sqlite3 does not keep them in the file, so every raw connection sets them again.
 */
export type BoardPolicyPragmas = Readonly<Record<(typeof POLICY_PRAGMAS)[number], number>>

const POLICY_PRAGMAS = ['foreign_keys', 'secure_delete', 'cell_size_check', 'wal_autocheckpoint'] as const

/** A board file opened raw, with the board's policy pragmas and how its statements drifted from the board's. */
export interface RawBoardFile {
  readonly db: BetterSqlite3.Database
  readonly pragmas: BoardPolicyPragmas
  /**
   * Per operation (claimNext, complete, completeAndClaimNext), the first position where the raw
   * loop's statements ({@link RAW_BOARD_STATEMENTS}) and the board's differ, compared as ordered
   * lists of SQL texts (recorded from the built board once per process, see board-statements.ts);
   * empty while raw-board runs the same SQL texts in the same order. A contender reports each as a
   * failure: the baseline no longer says what the board's rows cost, and {@link rawBoardLoop} needs
   * the board's new statements.
   */
  readonly drift: readonly string[]
}

let recordedDrift: Promise<string[]> | undefined

/**
 * Creates a board file at `path` through `openBoard` (built `@kanban-db/core`, the bench's adapter),
 * reads back its policy pragmas, closes it and opens the file raw with {@link openRawBoard}. The
 * first call in a process also records the statements the board runs for each operation (on a
 * scratch board beside `path`) and compares them, in order, with {@link RAW_BOARD_STATEMENTS}.
 */
export async function createRawBoard(path: string, synchronous: Synchronous): Promise<RawBoardFile> {
  recordedDrift ??= recordBoardCycleStatements(dirname(path), synchronous).then((board) => statementDrift(RAW_BOARD_STATEMENTS, board))
  const drift = await recordedDrift
  const board = await openBenchBoard(path, synchronous)
  const pragmas: Record<string, number> = {}
  try {
    for (const name of POLICY_PRAGMAS) pragmas[name] = Number(await boardPragma(board, name))
  } finally {
    await board.close()
  }
  return { db: openRawBoard(path, synchronous, pragmas as BoardPolicyPragmas), pragmas: pragmas as BoardPolicyPragmas, drift }
}

/**
 * Opens an existing board file raw, as `openRaw` opens any file (WAL, `synchronous`, busy_timeout,
 * all read back after a transaction), with the board's policy pragmas set and read back too.
 */
export function openRawBoard(path: string, synchronous: Synchronous, pragmas: BoardPolicyPragmas, busyTimeoutMs = 5000): BetterSqlite3.Database {
  const db = openRaw(path, synchronous, busyTimeoutMs)
  for (const name of POLICY_PRAGMAS) {
    db.pragma(`${name} = ${pragmas[name]}`)
    const actual = Number(db.pragma(name, { simple: true }))
    if (actual !== pragmas[name]) {
      db.close()
      throw new Error(`raw board: PRAGMA ${name} reads back ${actual}, the board had ${pragmas[name]}`)
    }
  }
  if (Number(db.pragma('user_version', { simple: true })) === 0) {
    db.close()
    throw new Error(`raw board: ${path} has user_version 0; it was not created by openBoard`)
  }
  return db
}

// The board's statements, verbatim as core compiles them for SQLite (read from the board with a
// recording adapter: packages/bench/prof-sql.ts prints them). Statuses and LIMIT 1 are literals in
// the text, as core's board/literals.ts writes them; everything else is bound.

/** claimNext's plain read before it takes the write lock (core: claims.ts, anyReadyTask): a ready task whose backoff (`not_before`, schema v4) has passed. */
const ANY_READY = `select "id" from "tasks" where "status" = 'ready' and ("not_before" is null or "not_before" <= ?) limit 1`
/** promoteDueIn, first thing in every claim's transaction (core: scheduling.ts, dueTasks). */
const DUE_TASKS = `select "id", "due_at" from "tasks" where "status" = 'scheduled' and "due_at" <= ? order by "due_at", "id"`
/** The claim (core: claims.ts, claimAnyReady): clears `not_before`, skips tasks whose backoff has not passed. */
const CLAIM_ANY_READY =
  `update "tasks" set "status" = ?, "claim_token" = ?, "claimed_by" = ?, "worker_pid" = ?, "worker_host" = ?, "claimed_at" = ?, ` +
  `"claim_expires_at" = ?, "lease_ms" = ?, "heartbeat_at" = ?, "started_at" = ?, "current_run_id" = ?, "not_before" = ?, "attempts" = "attempts" + ?, ` +
  `"updated_at" = ? where "id" = (select "id" from "tasks" where "status" = 'ready' and ("not_before" is null or "not_before" <= ?) ` +
  `order by "priority" desc, "created_at" asc, "id" asc limit 1) and "status" = 'ready' returning *`
/** The run row a claim opens (core: claims.ts, openRun). */
const OPEN_RUN = `insert into "task_runs" ("id", "task_id", "attempt", "worker_id", "pid", "host", "claim_token", "started_at") values (?, ?, ?, ?, ?, ?, ?, ?)`
/** Every event (core: event-log.ts, insertEvent). */
const INSERT_EVENT = `insert into "events" ("task_id", "run_id", "kind", "from_status", "to_status", "payload", "created_at") values (?, ?, ?, ?, ?, ?, ?)`
/** The completion (core: claims.ts, completeRunning). */
const COMPLETE_RUNNING =
  `update "tasks" set "claim_token" = ?, "claimed_by" = ?, "worker_pid" = ?, "worker_host" = ?, "claimed_at" = ?, "claim_expires_at" = ?, ` +
  `"lease_ms" = ?, "heartbeat_at" = ?, "status" = ?, "result" = ?, "completed_at" = ?, "updated_at" = ?, "consecutive_failures" = ?, ` +
  `"block_kind" = ?, "block_recurrences" = ? where "id" = ? and "status" = 'running' and "claim_token" = ? returning *`
/** The run's end (core: runs.ts, closeRun). */
const CLOSE_RUN = `update "task_runs" set "ended_at" = ?, "outcome" = ?, "error" = ? where "id" = ? and "ended_at" is null`
/** The completed task's dependents (core: dependencies.ts, dependentsOf). */
const DEPENDENTS_OF = `select "task_id" from "task_dependencies" where "depends_on_id" = ?`
/** createTasks' row (core: create-tasks.ts), used by refills only, outside the measured time. */
const INSERT_TASK =
  `insert into "tasks" ("id", "title", "body", "status", "priority", "assignee", "created_by", "idempotency_key", "meta", "created_at", ` +
  `"updated_at", "attempts", "max_attempts", "max_retries", "due_at", "tenant", "max_runtime_ms") values ` +
  `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict ("idempotency_key") do nothing returning *`

/**
 * The statements each operation of {@link rawBoardLoop} runs, in its order (refills not included):
 * the reference the board's recorded statements are compared with, as sequences, by
 * {@link createRawBoard}. Keep each list in step with the loop below.
 */
export const RAW_BOARD_STATEMENTS: Readonly<Record<BoardOperation, readonly string[]>> = {
  /** The plain read, then claimIn. */
  claimNext: [ANY_READY, DUE_TASKS, CLAIM_ANY_READY, OPEN_RUN, INSERT_EVENT],
  /** completeIn (the dependents are read before the event since core's f8ae921, which on Postgres locks them first). */
  complete: [COMPLETE_RUNNING, CLOSE_RUN, DEPENDENTS_OF, INSERT_EVENT],
  /** completeIn, then claimIn, in one transaction, without the plain read. */
  completeAndClaimNext: [COMPLETE_RUNNING, CLOSE_RUN, DEPENDENTS_OF, INSERT_EVENT, DUE_TASKS, CLAIM_ANY_READY, OPEN_RUN, INSERT_EVENT],
}

/** The claim's RETURNING row, as far as the loop reads it. */
interface ReturnedTask {
  readonly id: string
  readonly attempts: number
  readonly current_run_id: string | null
}

/**
 * Prepares the board's per-cycle statements on `db` (a board file opened raw, see
 * {@link createRawBoard}) and returns the loop. Each operation binds values built as the board builds them (not compared with the board's):
 * board-style ids (`r_` + time + random), a 128-bit base64url claim token, the claimed event's
 * payload as the board's JSON, the result `{"ok":true}`. The worker's pid and host are this
 * process's, as the bench's board scenarios pass them.
 */
export function rawBoardLoop(db: BetterSqlite3.Database, workerId: string): RawBoardLoop {
  const transactions = rawTransactions(db, 'raw board loop')
  const inTransaction = transactions.run
  const anyReady = db.prepare(ANY_READY)
  const dueTasks = db.prepare(DUE_TASKS)
  const claimAnyReady = db.prepare(CLAIM_ANY_READY)
  const openRun = db.prepare(OPEN_RUN)
  const insertEvent = db.prepare(INSERT_EVENT)
  const completeRunning = db.prepare(COMPLETE_RUNNING)
  const closeRun = db.prepare(CLOSE_RUN)
  const dependentsOf = db.prepare(DEPENDENTS_OF)
  const insertTask = db.prepare(INSERT_TASK)
  const pid = process.pid
  const host = hostname()
  let created = 0


  /** claimNextIn: the due promotion's select, the claim, its run row and its event. */
  const claimIn = (now: number, leaseMs: number): RawClaimed | undefined => {
    if (dueTasks.all(now).length > 0) throw new Error('raw board: a scheduled task is due; the raw loop does not promote (the bench schedules none)')
    const token = claimToken()
    const runId = boardId('r_', now)
    const task = claimAnyReady.get('running', token, workerId, pid, host, now, now + leaseMs, leaseMs, null, now, runId, null, 1, now, now) as ReturnedTask | undefined
    if (!task) return undefined
    const attempt = Number(task.attempts)
    openRun.run(runId, task.id, attempt, workerId, pid, host, token, now)
    insertEvent.run(task.id, runId, 'claimed', 'ready', 'running', JSON.stringify({ workerId, pid, host, attempt }), now)
    return { id: task.id, token }
  }

  /** completeIn: the completion, the run's end, the dependents' select and its event. */
  const completeIn = (id: string, token: string, now: number): boolean => {
    const task = completeRunning.get(null, null, null, null, null, null, null, null, 'done', '{"ok":true}', now, now, 0, null, 0, id, token) as ReturnedTask | undefined
    if (!task) return false
    if (task.current_run_id !== null) closeRun.run(now, 'completed', null, task.current_run_id)
    if (dependentsOf.all(id).length > 0) throw new Error('raw board: a completed task has dependents; the raw loop does not promote (the bench adds none)')
    insertEvent.run(id, task.current_run_id, 'completed', 'running', 'done', null, now)
    return true
  }

  return {
    claim: (nowMs, leaseMs) => {
      // claimNext reads before it takes the write lock, and takes it only when a task is ready.
      if (anyReady.get(nowMs) === undefined) return undefined
      return inTransaction(() => claimIn(nowMs, leaseMs))
    },
    complete: (id, token) => inTransaction(() => completeIn(id, token, Date.now())),
    completeAndClaimNext: (id, token, nowMs, leaseMs) =>
      inTransaction(() => {
        const completed = completeIn(id, token, nowMs)
        return { completed, next: completed ? claimIn(nowMs, leaseMs) : undefined }
      }),
    refill: (rows) => {
      inTransaction(() => {
        const now = Date.now()
        for (let i = 0; i < rows; i++, created++) {
          // createTasks' row and `created` event, as `benchTasks` creates them.
          const id = boardId('t_', now)
          insertTask.get(id, `bench task ${created}`, '', 'ready', created % 5, null, null, null, '{}', now, now, 0, 3, null, null, null, null)
          insertEvent.run(id, null, 'created', null, 'ready', 'null', now)
        }
      })
      // Leave no refill pages in the WAL for the measured loop's first checkpoint to copy.
      db.pragma('wal_checkpoint(TRUNCATE)')
    },
    batch: transactions.batch,
    verify: (cycles, label) => verifyRawBoard(db, cycles, label),
  }
}

/** The invariants of a raw board run: every cycle left a done task, a closed run and two events. */
export function verifyRawBoard(db: BetterSqlite3.Database, cycles: number, label: string): string[] {
  const count = (sql: string): number => Number(db.prepare(sql).pluck().get())
  const failures: string[] = []
  const expect = (what: string, actual: number): void => {
    if (actual !== cycles) failures.push(`${label}: ${cycles} cycles completed but ${actual} ${what}`)
  }
  expect('tasks are done', count(`select count(*) from "tasks" where "status" = 'done'`))
  expect('runs exist', count(`select count(*) from "task_runs"`))
  expect("runs ended as 'completed'", count(`select count(*) from "task_runs" where "outcome" = 'completed' and "ended_at" is not null`))
  expect("'claimed' events exist", count(`select count(*) from "events" where "kind" = 'claimed'`))
  expect("'completed' events exist", count(`select count(*) from "events" where "kind" = 'completed'`))
  const running = count(`select count(*) from "tasks" where "status" = 'running'`)
  if (running !== 0) failures.push(`${label}: ${running} tasks still running after every cycle completed`)
  return failures
}

// Ids and tokens shaped as core's board/ids.ts makes them (not exported by core): the same lengths
// and alphabets, so rows and index entries are the same size.

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
let pool = Buffer.alloc(0)
let poolOffset = 0

function pooledRandomBytes(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    pool = randomBytes(4096)
    poolOffset = 0
  }
  const bytes = pool.subarray(poolOffset, poolOffset + size)
  poolOffset += size
  return bytes
}

/** `prefix` + 10 characters of time (ms, Crockford base32) + 16 random characters: the shape and length of core's newId (whose ids of one millisecond continue from each other; the raw loops need only the shape). */
export function boardId(prefix: string, now: number): string {
  let time = ''
  let rest = Math.max(0, Math.floor(now))
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[rest % 32]! + time
    rest = Math.floor(rest / 32)
  }
  const bytes = pooledRandomBytes(10)
  let random = ''
  for (let i = 0; i < 16; i++) {
    const bit = i * 5
    const byte = bit >> 3
    const word = ((bytes[byte]! << 8) | (bytes[byte + 1] ?? 0)) >> (11 - (bit & 7))
    random += CROCKFORD[word & 31]
  }
  return `${prefix}${time}${random}`
}

/** 128 random bits, base64url, like core's newClaimToken. */
export function claimToken(): string {
  return pooledRandomBytes(16).toString('base64url')
}

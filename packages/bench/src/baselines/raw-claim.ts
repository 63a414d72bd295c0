import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { Stopwatch } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { openRaw, rawId, rawTasksSchema, type Synchronous } from './raw-database.ts'
import { readyBacklog } from '../scenarios/backlog.ts'


/**
 * `raw-claim`: a hand-written single-process claim loop on the equivalent schema. Claim:
 * BEGIN IMMEDIATE / UPDATE ... RETURNING the highest-priority oldest ready task / COMMIT.
 * Complete: BEGIN IMMEDIATE / UPDATE ... WHERE id AND claim_token / COMMIT. Two commits per cycle,
 * no events, no run rows: the floor kanban-db's claim+complete is compared against.
 */
export function rawClaim(synchronous: Synchronous): Contender {
  return {
    id: `raw-claim/${synchronous}`,
    description: `better-sqlite3 claim (UPDATE..RETURNING) + complete, two transactions, ${synchronous}; cycles per second`,
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const db = openRaw(join(context.dir, 'raw-claim.db'), synchronous)
      try {
        db.exec(rawTasksSchema)
        const failures: string[] = []
        const { cycles, elapsedMs } = timedClaimCompleteLoop(rawClaimLoop(db, 'raw-worker'), context, 'raw-claim', failures)
        return { figures: { perSecond: (cycles * 1000) / elapsedMs }, failures: failures.slice(0, 5) }
      } finally {
        db.close()
      }
    },
  }
}

/**
 * The measured loop of a one-process raw baseline: claim, then complete with the claim's token,
 * for `context.durationMs` of measured time (refills of the ready queue are not measured), until
 * the first broken invariant (a task claimed twice, a completion refused), which is pushed to
 * `failures` prefixed with `name`.
 */
export function timedClaimCompleteLoop(
  loop: RawClaimLoop, context: RunContext, name: string, failures: string[],
): { readonly cycles: number; readonly elapsedMs: number } {
  const watch = new Stopwatch()
  const seen = new Set<string>()
  let cycles = 0
  while (watch.elapsedMs < context.durationMs && failures.length === 0) {
    const claimed = loop.claim(Date.now(), 60_000)
    if (!claimed) {
      watch.pause()
      loop.refill(readyBacklog(context))
      continue
    }
    watch.resume()
    if (!loop.complete(claimed.id, claimed.token)) failures.push(`${name}: task ${claimed.id} could not be completed with its own token`)
    if (seen.has(claimed.id)) failures.push(`${name}: task ${claimed.id} claimed twice`)
    seen.add(claimed.id)
    cycles++
  }
  watch.pause()
  return { cycles, elapsedMs: watch.elapsedMs }
}

/** A claimed row. */
export interface RawClaimed {
  readonly id: string
  readonly token: string
}

/** The raw claim loop's prepared statements, shared with the raw multi-process worker. */
export interface RawClaimLoop {
  claim(nowMs: number, leaseMs: number): RawClaimed | undefined
  complete(id: string, token: string): boolean
  /** Inserts `rows` ready tasks in one transaction, then checkpoints (never inside measured time, never inside a batch). */
  refill(rows: number): void
  /**
   * Runs `fn` in one BEGIN IMMEDIATE / COMMIT (ROLLBACK if it throws): every `claim` and `complete`
   * it calls joins that transaction instead of committing on its own, so a batch of cycles costs
   * one commit (`raw-batched`: the most group commit could get out of raw SQLite).
   */
  batch<T>(fn: () => T): T
}

/**
 * Prepares the raw claim loop on `db` (which has {@link rawTasksSchema}). The ready-queue query
 * writes its constants as literals and names its index, as a careful hand-written loop would: with
 * `status = ?` bound, better-sqlite3's SQLite (built with STAT4) re-prepares the statement on every
 * execution (about 50 µs here), and without statistics an older index layout was planned as a sort
 * of the whole backlog.
 */
export function rawClaimLoop(db: BetterSqlite3.Database, workerId: string): RawClaimLoop {
  const transactions = rawTransactions(db, 'raw claim loop')
  const inTransaction = transactions.run
  const claim = db.prepare(`
    UPDATE tasks SET status = 'running', claim_token = ?, claimed_by = ?, worker_pid = ?, worker_host = 'bench',
      claimed_at = ?, claim_expires_at = ?, lease_ms = ?, attempts = attempts + 1, started_at = ?, updated_at = ?
    WHERE id = (SELECT id FROM tasks INDEXED BY tasks_ready_queue WHERE status = 'ready' ORDER BY priority DESC, created_at, id LIMIT 1)
    RETURNING id`)
  const complete = db.prepare(`
    UPDATE tasks SET status = 'done', result = ?, claim_token = NULL, claim_expires_at = NULL, completed_at = ?, updated_at = ?
    WHERE id = ? AND claim_token = ? AND status = 'running'`)
  const insert = db.prepare(
    "INSERT INTO tasks (id, title, body, status, priority, created_at, updated_at) VALUES (?, ?, 'body', 'ready', ?, ?, ?)",
  )
  return {
    claim: (nowMs, leaseMs) => {
      const token = randomUUID()
      const row = inTransaction(() => claim.get(token, workerId, process.pid, nowMs, nowMs + leaseMs, leaseMs, nowMs, nowMs)) as { id: string } | undefined
      return row ? { id: row.id, token } : undefined
    },
    complete: (id, token) => inTransaction(() => complete.run('{"ok":true}', Date.now(), Date.now(), id, token).changes === 1),
    refill: (rows) => {
      inTransaction(() => {
        const stamp = Date.now()
        for (let i = 0; i < rows; i++) insert.run(rawId(), `task ${i}`, i % 5, stamp, stamp)
      })
      // Leave no refill pages in the WAL for the measured loop's first checkpoint to copy.
      db.pragma('wal_checkpoint(TRUNCATE)')
    },
    batch: transactions.batch,
  }
}

/**
 * BEGIN IMMEDIATE / COMMIT around one operation of a raw loop (ROLLBACK if it throws), or, inside
 * `batch`, no transaction of its own: the operation joins the batch's one transaction.
 */
export interface RawTransactions {
  /** Runs `fn` in its own transaction, or in the open batch's. */
  run<T>(fn: () => T): T
  /** Runs `fn` in ONE transaction in which every `run` inside it joins; batches do not nest. */
  batch<T>(fn: () => T): T
}

/** The raw loops' transactions on `db` (prepared BEGIN IMMEDIATE, COMMIT and ROLLBACK). */
export function rawTransactions(db: BetterSqlite3.Database, name: string): RawTransactions {
  const begin = db.prepare('BEGIN IMMEDIATE')
  const commit = db.prepare('COMMIT')
  const rollback = db.prepare('ROLLBACK')
  let batching = false
  const run = <T>(fn: () => T): T => {
    if (batching) return fn()
    begin.run()
    try {
      const value = fn()
      commit.run()
      return value
    } catch (error) {
      if (db.inTransaction) rollback.run()
      throw error
    }
  }
  return {
    run,
    batch: (fn) => {
      if (batching) throw new Error(`${name}: batches do not nest`)
      return run(() => {
        batching = true
        try {
          return fn()
        } finally {
          batching = false
        }
      })
    },
  }
}

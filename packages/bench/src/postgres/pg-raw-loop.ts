import { hostname } from 'node:os'
import pg from 'pg'
import { boardId, claimToken } from '../baselines/raw-board.ts'
import { adminClient } from './pg-server.ts'
import { PG_SQL } from './pg-statements.ts'

/** A task the raw loop claimed. */
export interface PgRawClaimed {
  readonly id: string
  readonly token: string
}

/** The claim's RETURNING row, as far as the loop reads it. */
interface ReturnedTask {
  readonly id: string
  readonly attempts: number | string
  readonly current_run_id: string | null
}

/**
 * The hand-written node-postgres loop that P1 divides by (and, 4 x 8 of them, the `pg-raw-board-fleet`
 * ceiling): on ONE connection of its own, it sends per operation exactly the SQL texts the board
 * sends on the Postgres engine, in the same order (see pg-statements.ts; every run compares them with
 * the board's, recorded at the driver boundary), with values built as the board builds them: the
 * server's clock read inside the transaction, board-shaped ids and tokens, a run row per claim, a
 * `claimed` and a `completed` event, the due-task select and the dependents' lock. None of kanban-db's
 * JavaScript runs: no Kysely, no write path, no pool, no retry loop, no timeout timer.
 */
export class PgRawLoop {
  readonly #client: pg.Client
  readonly #workerId: string
  readonly #pid = process.pid
  readonly #host = hostname()
  /** Named prepared statements (by text) instead of unnamed ones. */
  readonly #names: Map<string, string> | undefined

  private constructor(client: pg.Client, workerId: string, prepared: boolean) {
    this.#client = client
    this.#workerId = workerId
    this.#names = prepared ? new Map() : undefined
  }

  /**
   * Connects to `url` in `schema` (a board's schema, created by openBoard). `prepared`: send each
   * statement as a named prepared statement (parsed and planned once on this connection), as the
   * board's engine sends its DML since bc290bf (P1's baseline); unnamed, it is the diagnostic raw
   * fleet of the P2 ceiling lines.
   */
  static async connect(url: string, schema: string, workerId: string, prepared = false): Promise<PgRawLoop> {
    return new PgRawLoop(await adminClient(url, schema), workerId, prepared)
  }

  async close(): Promise<void> {
    await this.#client.end().catch(() => {})
  }

  /** claimNext: BEGIN, the server's clock, the claim, its run row and event, COMMIT. */
  claim(leaseMs: number): Promise<PgRawClaimed | undefined> {
    return this.#transaction(async (now) => this.#claimIn(now, leaseMs))
  }

  /** complete: BEGIN, the server's clock, the completion, the run's end, the dependents' lock, the event, COMMIT. */
  complete(id: string, token: string): Promise<boolean> {
    return this.#transaction(async (now) => this.#completeIn(id, token, now))
  }

  /** completeAndClaimNext: both, in one transaction, the clock read once. */
  completeAndClaimNext(id: string, token: string, leaseMs: number): Promise<{ completed: boolean; next: PgRawClaimed | undefined }> {
    return this.#transaction(async (now) => {
      const completed = await this.#completeIn(id, token, now)
      return { completed, next: completed ? await this.#claimIn(now, leaseMs) : undefined }
    })
  }

  async #query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
    if (this.#names && values !== undefined) {
      let name = this.#names.get(text)
      if (name === undefined) this.#names.set(text, (name = `kanban_bench_${this.#names.size}`))
      return (await this.#client.query<R>({ name, text, values })).rows
    }
    return (await this.#client.query<R>(text, values)).rows
  }

  async #transaction<T>(body: (now: number) => Promise<T>): Promise<T> {
    await this.#query(PG_SQL.BEGIN)
    try {
      const [row] = await this.#query<{ now: string | number }>(PG_SQL.SERVER_NOW)
      const value = await body(Number(row!.now))
      await this.#query(PG_SQL.COMMIT)
      return value
    } catch (error) {
      await this.#query('ROLLBACK').catch(() => {})
      throw error
    }
  }

  async #claimIn(now: number, leaseMs: number): Promise<PgRawClaimed | undefined> {
    if ((await this.#query(PG_SQL.DUE_TASKS, [now])).length > 0) {
      throw new Error('raw pg loop: a scheduled task is due; the raw loop does not promote (the bench schedules none)')
    }
    const token = claimToken()
    const runId = boardId('r_', now)
    const workerId = this.#workerId
    const [task] = await this.#query<ReturnedTask>(PG_SQL.CLAIM_ANY_READY, [
      'running', token, workerId, this.#pid, this.#host, now, now + leaseMs, leaseMs, null, now, runId, null, 1, now, now,
    ])
    if (!task) return undefined
    const attempt = Number(task.attempts)
    await this.#query(PG_SQL.OPEN_RUN, [runId, task.id, attempt, workerId, this.#pid, this.#host, token, now])
    await this.#query(PG_SQL.INSERT_EVENT, [
      task.id, runId, 'claimed', 'ready', 'running', JSON.stringify({ workerId, pid: this.#pid, host: this.#host, attempt }), now,
    ])
    return { id: task.id, token }
  }

  async #completeIn(id: string, token: string, now: number): Promise<boolean> {
    const [task] = await this.#query<ReturnedTask>(PG_SQL.COMPLETE_RUNNING, [
      null, null, null, null, null, null, null, null, 'done', '{"ok":true}', now, now, 0, null, 0, id, token,
    ])
    if (!task) return false
    await this.#query(PG_SQL.CLOSE_RUN, [now, 'completed', null, task.current_run_id])
    if ((await this.#query(PG_SQL.LOCK_DEPENDENTS, [id])).length > 0) {
      throw new Error('raw pg loop: a completed task has dependents; the raw loop does not promote (the bench adds none)')
    }
    await this.#query(PG_SQL.INSERT_EVENT, [id, task.current_run_id, 'completed', 'running', 'done', null, now])
    return true
  }
}

/**
 * The invariants of a run on a board's schema where `completed` claim+complete cycles were
 * acknowledged: as many done tasks, closed `completed` runs and `claimed` / `completed` events, no task
 * with two `completed` events, nothing left running. Returns broken invariants.
 */
export async function verifyPgCycles(url: string, schema: string, completed: number, label: string, released = 0): Promise<string[]> {
  const client = await adminClient(url, schema)
  try {
    const count = async (sql: string): Promise<number> => Number((await client.query<{ n: string }>(sql)).rows[0]!.n)
    const failures: string[] = []
    const expect = (what: string, actual: number, expected = completed): void => {
      if (actual !== expected) failures.push(`${label}: ${completed} completions were acknowledged${released ? ` and ${released} claims released` : ''} but ${actual} ${what}`)
    }
    expect('tasks are done', await count(`SELECT count(*) AS n FROM tasks WHERE status = 'done'`))
    expect("runs ended as 'completed'", await count(`SELECT count(*) AS n FROM task_runs WHERE outcome = 'completed' AND ended_at IS NOT NULL`))
    // board.work hands back (releases) a task its last chained claim took while it was stopping.
    expect("'claimed' events exist", await count(`SELECT count(*) AS n FROM events WHERE kind = 'claimed'`), completed + released)
    expect("'released' events exist", await count(`SELECT count(*) AS n FROM events WHERE kind = 'released'`), released)
    expect("'completed' events exist", await count(`SELECT count(*) AS n FROM events WHERE kind = 'completed'`))
    const twice = await count(`SELECT count(*) AS n FROM (SELECT task_id FROM events WHERE kind = 'completed' GROUP BY task_id HAVING count(*) > 1) AS t`)
    if (twice > 0) failures.push(`${label}: ${twice} tasks have more than one 'completed' event`)
    const running = await count(`SELECT count(*) AS n FROM tasks WHERE status = 'running'`)
    if (running !== 0) failures.push(`${label}: ${running} tasks are still running after every claim was completed`)
    return failures
  } finally {
    await client.end().catch(() => {})
  }
}

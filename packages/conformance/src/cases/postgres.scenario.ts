import type { PostgresBoardSpec } from '../board-spec.js'
import type { CaseContext } from '../case.js'
import type { FleetMessage } from '../child-tasks/postgres-fleet-worker.js'
import { connectPostgres, type PostgresSession } from '../postgres-session.js'
import type { TaskHandle } from '../task-handle.js'

/**
 * What the Postgres hazard cases (`postgres.*`) share: the case's board as a Postgres spec, and a
 * plain session of their own to ask the server what only it can tell (is a backend still there, is
 * it idle in a transaction, what do the board's tables hold) and to act on it (terminate a backend).
 */

/** The case's board `name` as a Postgres spec (these cases declare `engines: ['postgres']`). */
export function postgresSpec(context: CaseContext, name?: string): PostgresBoardSpec {
  const spec = context.boardSpec(name)
  if (spec.engine !== 'postgres') throw new Error(`the postgres.* cases run on Postgres only; got a ${spec.engine} board`)
  return spec
}

/** How often a bounded wait asks the server again. */
const POLL_MS = 20

/**
 * Waits until `check` holds, asking again every {@link POLL_MS} ms, and fails after `boundMs`
 * saying `what` did not happen. Only for conditions the server reports (a backend gone, a lease
 * over by the server's clock); never to let something happen.
 */
export async function waitFor(check: () => Promise<boolean>, what: string, boundMs: number): Promise<void> {
  const deadline = performance.now() + boundMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`${what} did not happen within ${boundMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
}

/** A backend as `pg_stat_activity` shows it; undefined once the backend is gone. */
export interface BackendState {
  readonly state: string | null
  /** Seconds since the backend's state last changed, by the server's clock. */
  readonly stateSeconds: number
}

/** One plain session on the server of `spec`, with the questions the hazard cases ask it. */
export class ServerProbe {
  private constructor(
    readonly session: PostgresSession,
    readonly schema: string,
  ) {}

  static async open(spec: PostgresBoardSpec): Promise<ServerProbe> {
    return new ServerProbe(await connectPostgres(spec.connectionString, spec), spec.schema)
  }

  /** The backend `pid` as the server sees it, or undefined when it has ended. */
  async backend(pid: number): Promise<BackendState | undefined> {
    const [row] = await this.session.query<{ state: string | null; seconds: number }>(
      'SELECT state, extract(epoch FROM clock_timestamp() - state_change)::float8 AS seconds FROM pg_stat_activity WHERE pid = $1',
      [pid],
    )
    return row === undefined ? undefined : { state: row.state, stateSeconds: Number(row.seconds) }
  }

  /** Ends backend `pid` (pg_terminate_backend) and waits until the server no longer lists it. */
  async terminate(pid: number, boundMs: number): Promise<void> {
    const [row] = await this.session.query<{ done: boolean }>('SELECT pg_terminate_backend($1) AS done', [pid])
    if (row?.done !== true) throw new Error(`pg_terminate_backend(${pid}) found no such backend`)
    await waitFor(async () => (await this.backend(pid)) === undefined, `backend ${pid} ending after pg_terminate_backend`, boundMs)
  }

  /** The server's clock, in ms since the epoch (as the board reads it). */
  async serverNow(): Promise<number> {
    const [row] = await this.session.query<{ now: string }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8 AS now')
    return Number(row!.now)
  }

  /** Every row of the board's tasks, runs and events, as text, in a stable order (to compare before and after). */
  async snapshot(): Promise<{ tasks: string[]; runs: string[]; events: string[] }> {
    const rows = async (table: string, order: string) =>
      (await this.session.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${this.schema}".${table} t ORDER BY ${order}`)).map((row) => row.row)
    return { tasks: await rows('tasks', 'id'), runs: await rows('task_runs', 'id'), events: await rows('events', 'id') }
  }

  async close(): Promise<void> {
    await this.session.end()
  }
}

/** What changed between two snapshots, as short lines naming the rows (empty: nothing). */
export function snapshotChanges(before: Awaited<ReturnType<ServerProbe['snapshot']>>, after: Awaited<ReturnType<ServerProbe['snapshot']>>): string[] {
  const changes: string[] = []
  const idOf = (row: string) => String((JSON.parse(row) as { id?: unknown }).id)
  for (const table of ['tasks', 'runs', 'events'] as const) {
    const was = new Set(before[table])
    const now = new Set(after[table])
    const added = after[table].filter((row) => !was.has(row)).map(idOf)
    const removed = before[table].filter((row) => !now.has(row)).map(idOf)
    if (added.length > 0 || removed.length > 0) changes.push(`${table}: rows [${added.join(', ')}] new or changed, [${removed.join(', ')}] as they were`)
  }
  return changes
}

/**
 * Follows what `postgres-fleet-worker` processes report while they run (each acknowledged or
 * confirmed completion, a lane that failed), so a case can wait for "N more completions" without
 * sleeping. Start it after each worker's `ready` was taken.
 */
export class FleetMonitor {
  /** Task id -> the lane it was acknowledged to. */
  readonly completed = new Map<string, string>()
  /** Task id -> the lane that found its lost completion applied. */
  readonly confirmed = new Map<string, string>()
  /** Completions in the order they were reported (acknowledged or confirmed). */
  readonly order: string[] = []
  readonly #waiters = new Set<{ check: () => boolean; resolve: () => void; reject: (error: Error) => void }>()
  #failure: Error | undefined

  constructor(workers: readonly TaskHandle[]) {
    for (const worker of workers) void this.#pump(worker)
  }

  /** Completions reported so far. */
  get count(): number {
    return this.order.length
  }

  /** Resolves once `check` holds after some report; rejects as soon as a lane fails or a worker ends with an error. */
  until(check: () => boolean): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure)
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => this.#waiters.add({ check, resolve, reject }))
  }

  async #pump(worker: TaskHandle): Promise<void> {
    for (;;) {
      let message: FleetMessage
      try {
        message = (await worker.receive()) as FleetMessage
      } catch (error) {
        // The worker ended: with its result (the case reads it), or failing, which ends every wait.
        await worker.result.catch((failure: unknown) => this.#fail(new Error(`a fleet worker (pid ${worker.pid}) failed: ${String(failure)}`, { cause: error })))
        return
      }
      if (message.kind === 'failed') {
        this.#fail(new Error(`fleet lane ${message.workerId} failed: ${message.error}`))
        continue
      }
      ;(message.kind === 'completed' ? this.completed : this.confirmed).set(message.id, message.workerId)
      this.order.push(message.id)
      for (const waiter of this.#waiters) {
        if (!waiter.check()) continue
        this.#waiters.delete(waiter)
        waiter.resolve()
      }
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error
    for (const waiter of this.#waiters) waiter.reject(this.#failure)
    this.#waiters.clear()
  }
}

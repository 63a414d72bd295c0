import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  openBoard, workerFromChildProcess, type ClaimedTask, type DispatcherEvent, type Dispatcher,
  type SqliteAdapter, type Task, type WorkerHandle,
} from '@kanban-db/core'
import { type SqliteConnection, type SqliteStatement } from '@kanban-db/core/adapter'

const WORKER = fileURLToPath(new URL('./fixtures/worker.mjs', import.meta.url))

/** What a forked worker does on SIGTERM (see fixtures/worker.mjs). */
export type WorkerMode = 'plain' | 'graceful' | 'ignore-sigterm'

interface ForkedWorker {
  readonly child: ChildProcess
  readonly started: Promise<void>
  readonly handle: WorkerHandle
  readonly messages: Array<{ type: string }>
}

/**
 * Real worker processes for a dispatcher's `spawn`: each is a forked Node process that reports
 * `started` and exits with the code the test sends; `modeOf` picks what each does on SIGTERM.
 * Every child is killed by `killAll`.
 */
export class ForkedWorkers {
  readonly #children = new Map<string, ForkedWorker>()
  /** Task ids in spawn order (a task spawned twice appears twice). */
  readonly spawned: string[] = []

  constructor(private readonly modeOf: (task: ClaimedTask) => WorkerMode = () => 'plain') {}

  readonly spawn = (task: ClaimedTask): WorkerHandle => {
    const child = fork(WORKER, [task.id, this.modeOf(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    const messages: Array<{ type: string }> = []
    child.on('message', (message: { type: string }) => messages.push(message))
    const started = new Promise<void>((resolve) => child.once('message', () => resolve()))
    const handle = workerFromChildProcess(child)
    this.#children.set(task.id, { child, started, handle, messages })
    this.spawned.push(task.id)
    return handle
  }

  #entry(taskId: string): ForkedWorker {
    const entry = this.#children.get(taskId)
    if (!entry) throw new Error(`no worker for ${taskId}`)
    return entry
  }

  /** The task ids whose worker has not exited. */
  running(): string[] {
    return [...this.#children].filter(([, entry]) => entry.child.exitCode === null && entry.child.signalCode === null).map(([id]) => id)
  }

  /** True while the worker of `taskId` has not exited. */
  alive(taskId: string): boolean {
    const { child } = this.#entry(taskId)
    return child.exitCode === null && child.signalCode === null
  }

  /** The worker's pid. */
  pid(taskId: string): number {
    return this.#entry(taskId).child.pid!
  }

  /** Resolves once the worker of `taskId` has said it started (its SIGTERM handler is in place). */
  async started(taskId: string): Promise<void> {
    const entry = this.#entry(taskId)
    await Promise.race([entry.started, entry.handle.exit])
    if (!entry.messages.some((message) => message.type === 'started')) throw new Error(`the worker of ${taskId} exited before it started`)
  }

  /** Resolves with the worker's exit. */
  exited(taskId: string) {
    return this.#entry(taskId).handle.exit
  }

  /** Message types the worker of `taskId` sent so far (`started`, `sigterm`). */
  messages(taskId: string): string[] {
    return this.#entry(taskId).messages.map((message) => message.type)
  }

  /** Tells the worker of `taskId` to exit with `code` and resolves once it has. */
  async finish(taskId: string, code = 0): Promise<void> {
    const entry = this.#entry(taskId)
    // A worker that died before it could report (killed, channel gone) has nothing to be told.
    await Promise.race([entry.started, entry.handle.exit])
    if (entry.child.connected) entry.child.send({ type: 'exit', code })
    await entry.handle.exit
  }

  /** Finishes every running worker with `code`. */
  async finishAll(code = 0): Promise<void> {
    await Promise.all(this.running().map((id) => this.finish(id, code)))
  }

  /** Kills whatever still runs (test cleanup). */
  async killAll(): Promise<void> {
    await Promise.all(
      [...this.#children.values()].map(async ({ child, handle }) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        await handle.exit
      }),
    )
  }
}

/**
 * Waits until `condition()` holds, checking every 10 ms; fails after a generous minute naming
 * `what` (a deadline for a stuck test, never a timing assertion).
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, deadlineMs = Number(process.env.WAIT_FOR_MS ?? 60_000)): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A task and the outcomes of its runs, read through a board opened and closed for the question. */
export async function taskAndRuns(adapter: SqliteAdapter, path: string, taskId: string): Promise<{ task: Task; runs: Array<{ id: string; outcome: string | null; workerId: string }> }> {
  const board = await openBoard({ path, adapter })
  try {
    const task = await board.getTask(taskId)
    if (!task) throw new Error(`no task ${taskId} on ${path}`)
    const runs = await board.db.selectFrom('task_runs').select(['id', 'outcome', 'worker_id as workerId']).where('task_id', '=', taskId).orderBy('attempt').execute()
    return { task, runs }
  } finally {
    await board.close()
  }
}

/** Every event a dispatcher emits, in order. */
export function recordEvents(dispatcher: Dispatcher): DispatcherEvent[] {
  const events: DispatcherEvent[] = []
  for (const type of [
    'tick', 'spawned', 'reaped', 'recorded', 'reclaimed', 'overran', 'claim-ended', 'terminating', 'quarantined', 'probed', 'recovered', 'skipped',
    'checkpointed', 'error',
  ] as const) {
    dispatcher.on(type, (event) => events.push(event))
  }
  return events
}

/**
 * The start shared by the tests of one worker: records the dispatcher's events, has `cleanups` kill
 * the forked workers and stop the dispatcher after the test, ticks once (the dispatcher claims the
 * task and spawns its worker) and waits for the worker of `taskId` to run. Returns the events.
 */
export async function startWorkerOf(
  taskId: string,
  dispatcher: Dispatcher,
  workers: ForkedWorkers,
  cleanups: Array<() => Promise<void>>,
): Promise<DispatcherEvent[]> {
  const events = recordEvents(dispatcher)
  cleanups.push(async () => {
    await workers.killAll()
    await dispatcher.stop()
  })
  await dispatcher.tick()
  await workers.started(taskId)
  return events
}

/** Events of one type from a list. */
export function ofType<T extends DispatcherEvent['type']>(events: readonly DispatcherEvent[], type: T): Extract<DispatcherEvent, { type: T }>[] {
  return events.filter((event): event is Extract<DispatcherEvent, { type: T }> => event.type === type)
}

/** Creates a board at `path` with `count` ready tasks and closes it. */
export async function createBoardWithTasks(adapter: SqliteAdapter, path: string, count: number, prefix = 'task'): Promise<void> {
  const board = await openBoard({ path, adapter })
  try {
    if (count > 0) await board.createTasks(Array.from({ length: count }, (_, i) => ({ title: `${prefix} ${i}`, priority: count - i })))
  } finally {
    await board.close()
  }
}

/** Statuses of every task on a board (opened and closed for the question). */
export async function statusCounts(adapter: SqliteAdapter, path: string): Promise<Record<string, number>> {
  const board = await openBoard({ path, adapter })
  try {
    const health = await board.health()
    return { ...health.tasks }
  } finally {
    await board.close()
  }
}

/**
 * Wraps an adapter so that, while `faults.on` is true, opening a file and running any statement
 * fails with SQLite's transient `SQLITE_IOERR_READ` (as better-sqlite3 reports it): fault injection
 * at the driver boundary, the database itself untouched.
 */
export function withInjectedIoErrors(adapter: SqliteAdapter): { adapter: SqliteAdapter; faults: { on: boolean; injected: number } } {
  const faults = { on: false, injected: 0 }
  const fail = (): never => {
    faults.injected += 1
    throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' })
  }
  const wrapStatement = (statement: SqliteStatement): SqliteStatement => ({
    get reader() {
      return statement.reader
    },
    all: (parameters) => (faults.on ? fail() : statement.all(parameters)),
    run: (parameters) => (faults.on ? fail() : statement.run(parameters)),
    finalize: () => statement.finalize(),
  })
  const wrapConnection = (connection: SqliteConnection): SqliteConnection => ({
    get path() {
      return connection.path
    },
    get isOpen() {
      return connection.isOpen
    },
    get inTransaction() {
      return connection.inTransaction
    },
    prepare: (sql) => wrapStatement(connection.prepare(sql)),
    // ROLLBACK and `PRAGMA busy_timeout` do no file I/O, so a real disk error never fails them.
    exec: (sql) => (faults.on && !/^\s*(ROLLBACK|PRAGMA busy_timeout)/i.test(sql) ? fail() : connection.exec(sql)),
    backup: (destination) => connection.backup(destination),
    close: () => connection.close(),
  })
  const wrapped: SqliteAdapter = {
    identity: adapter.identity,
    capabilities: adapter.capabilities,
    open: async (path, options) => {
      if (faults.on) fail()
      return wrapConnection(await adapter.open(path, options))
    },
    probeJournalMode: (connection) => adapter.probeJournalMode(connection),
    setPragma: (connection, name, value) => adapter.setPragma(connection, name, value),
    acquireLock: (lockPath, options) => adapter.acquireLock(lockPath, options),
  }
  return { adapter: wrapped, faults }
}

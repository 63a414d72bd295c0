import { strict as assert } from 'node:assert'
import { existsSync, statSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import type { Board, BoardEvent, CreateTaskInput, ReleasedClaim } from '@kanban-db/core'
import type { CaseContext } from './case.js'
import type { ClaimCompleteProcessResult } from './child-tasks/claim-complete-process.js'
import type { ClaimCompleteWorkerPlan, ClaimCompleteWorkerResult } from './child-tasks/claim-complete-worker.js'

/** The shape of one claim-complete run. */
export interface ClaimCompleteOptions {
  /** Worker processes. */
  readonly processes: number
  /** Worker threads per process. */
  readonly threads: number
  /**
   * `{ tasks }`: exactly this many tasks, produced in batches spread evenly over `durationMs`.
   * `{ backlog }`: for `durationMs`, a new batch whenever fewer than `backlog` tasks are unfinished
   * (a steady load however fast the workers are).
   */
  readonly load: { readonly tasks: number } | { readonly backlog: number }
  /** The run lasts at least this long. */
  readonly durationMs: number
  /** Tasks per `createTasks` batch. */
  readonly batch: number
  /** The lease of every claim (default 600,000 ms). */
  readonly leaseMs?: number
  /** What each worker does besides claim and complete: held tasks and heartbeats (default: none). */
  readonly plan?: ClaimCompleteWorkerPlan
  /**
   * While producing, this process also calls `releaseStaleClaims` on this period, as a dispatcher
   * does, so a lease that runs out is taken back for real (default: never).
   */
  readonly reclaimEveryMs?: number
  /** Which of the case's boards the run uses (default `board`): a case running twice uses two. */
  readonly boardName?: string
  /** Extra environment variables of the worker processes (a control turning a protection off). */
  readonly env?: Readonly<Record<string, string>>
  /**
   * With a `plan`: how late a heartbeat may finish after it was due (default `leaseMs / 4`). A case
   * whose lease is short on purpose may bound it by what still keeps the lease (lease minus the
   * heartbeat period) instead, so only a lease truly at risk fails it.
   */
  readonly heartbeatLatenessBoundMs?: number
}

/** What a run measured, for notes and bounds. */
export interface ClaimCompleteMeasures {
  readonly tasks: number
  /** How long production lasted. */
  readonly elapsedMs: number
  /** From the first task to the last verified completion. */
  readonly totalMs: number
  /** Largest `-wal` size seen while the run lasted (stat only); undefined on an engine without one (Postgres). */
  readonly maxWalBytes: number | undefined
  readonly walSamples: number
  /** Claims this process released as expired (`reclaimEveryMs`); each is a lost lease. */
  readonly released: readonly ReleasedClaim[]
  readonly processes: readonly ClaimCompleteProcessResult[]
}

/** Optional checks of {@link verifyClaimComplete}, for runs whose workers heartbeat. */
export interface ClaimCompleteChecks {
  /** The workers' lease: check their heartbeats with {@link verifyHeartbeats} against it. */
  readonly leaseMs?: number
  /** Claims the dispatcher released as expired while the run lasted. */
  readonly released?: readonly ReleasedClaim[]
  /** The heartbeat lateness bound (default `leaseMs / 4`). */
  readonly latenessBoundMs?: number
}

/**
 * The claim-complete workload shared by `concurrency.claim-complete-4x2` and the stress case: this
 * process plays the dispatcher and produces tasks (with dependencies) in batches spread over
 * `durationMs`, while `processes` x `threads` workers claim and complete them, each running
 * `board.work` (the library's worker loop, so the suite proves the loop users run). Then it checks the
 * invariants, never timing: every task done and completed exactly once, no task claimed by two
 * workers, every dependency completed before its dependent was claimed, the event log complete
 * (created, claimed, completed once each, in that order), no error (so no SQLITE_BUSY) surfaced
 * to any worker, one completed run per task, and on SQLite `integrity_check` ok. With a `plan`, also
 * the heartbeat checks of {@link verifyHeartbeats} against the run's lease.
 *
 * The same code on every engine: the board is the case's (`context.openBoard`, `context.boardSpec`),
 * so on Postgres the workers share one schema of the server. The `-wal` size is sampled where there
 * is one (SQLite); `integrity_check` runs where there is one (SQLite).
 */
export async function runClaimComplete(context: CaseContext, options: ClaimCompleteOptions): Promise<ClaimCompleteMeasures> {
  const spec = context.boardSpec(options.boardName)
  const board = await context.openBoard(options.boardName === undefined ? {} : { name: options.boardName })
  const walPath = spec.engine === 'sqlite' ? `${spec.path}-wal` : undefined
  const workerTimeoutMs = options.durationMs * 4 + 120_000
  const processes = Array.from({ length: options.processes }, (_, processIndex) =>
    context.spawn<ClaimCompleteProcessResult>(
      'claim-complete-process',
      {
        board: spec,
        processIndex,
        threads: options.threads,
        timeoutMs: workerTimeoutMs,
        leaseMs: options.leaseMs ?? 600_000,
        sampleMs: 500,
        ...(options.plan === undefined ? {} : { plan: options.plan }),
      },
      { timeoutMs: workerTimeoutMs, ...(options.env === undefined ? {} : { env: options.env }) },
    ),
  )
  let started = performance.now()
  let measures: Awaited<ReturnType<typeof produce>>
  let results: ClaimCompleteProcessResult[]
  try {
    await Promise.all(processes.map((child) => child.receive()))
    started = performance.now()
    const produced = await produce(board, walPath, options)
    for (const child of processes) child.send('drain')
    const settled = await Promise.allSettled(processes.map((child) => child.result))
    const failed = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason)] : []))
    assert.deepEqual(failed, [], 'a worker process failed')
    results = settled.map((outcome) => (outcome as PromiseFulfilledResult<ClaimCompleteProcessResult>).value)
    measures = produced
    const checks =
      options.plan === undefined
        ? {}
        : {
            leaseMs: options.leaseMs ?? 600_000,
            released: produced.released,
            ...(options.heartbeatLatenessBoundMs === undefined ? {} : { latenessBoundMs: options.heartbeatLatenessBoundMs }),
          }
    await verifyClaimComplete(board, produced.ids, results, checks)
  } catch (error) {
    for (const child of processes) child.send('abort')
    throw error
  } finally {
    await board.close()
  }
  if (spec.engine === 'sqlite') {
    const connection = await context.adapter.open(spec.path)
    try {
      const integrity = connection.prepare('PRAGMA integrity_check').all([]).map((row) => Object.values(row)[0])
      assert.deepEqual(integrity, ['ok'], 'integrity_check after the run')
    } finally {
      connection.close()
    }
  }
  return {
    tasks: measures.ids.length,
    elapsedMs: measures.elapsedMs,
    totalMs: performance.now() - started,
    maxWalBytes: measures.maxWalBytes,
    walSamples: measures.walSamples,
    released: measures.released,
    processes: results,
  }
}

/** Creates the tasks batch by batch over the run's length, and samples the WAL size (when `walPath`). */
async function produce(board: Board, walPath: string | undefined, options: ClaimCompleteOptions) {
  const ids: string[] = []
  const fixed = 'tasks' in options.load ? options.load.tasks : undefined
  const batches = fixed === undefined ? undefined : Math.ceil(fixed / options.batch)
  const pause = batches === undefined ? 50 : options.durationMs / batches
  const started = performance.now()
  let maxWalBytes = 0
  let walSamples = 0
  const released: ReleasedClaim[] = []
  let reclaimed = started
  for (let batch = 0; ; batch++) {
    if (batches !== undefined ? batch >= batches : performance.now() - started >= options.durationMs) break
    const due = started + (batch + 1) * pause
    const unfinished = fixed === undefined ? await countUnfinished(board) : 0
    if (fixed !== undefined || unfinished < (options.load as { backlog: number }).backlog) {
      const inputs: CreateTaskInput[] = []
      for (let offset = 0; offset < options.batch && (fixed === undefined || ids.length + inputs.length < fixed); offset++) {
        const k = ids.length + inputs.length + 1
        inputs.push({ id: taskId(k), title: `task ${k}`, priority: k % 3, dependsOn: dependenciesOf(k).map(taskId) })
      }
      await board.createTasks(inputs)
      ids.push(...inputs.map((input) => input.id!))
    }
    if (options.reclaimEveryMs !== undefined && performance.now() - reclaimed >= options.reclaimEveryMs) {
      reclaimed = performance.now()
      released.push(...(await board.releaseStaleClaims()))
    }
    if (walPath !== undefined) {
      if (existsSync(walPath)) maxWalBytes = Math.max(maxWalBytes, statSync(walPath).size) // stat only
      walSamples += 1
    }
    // Load shaping, not coordination: the dispatcher feeds work over the run's length.
    const wait = (fixed === undefined ? performance.now() + pause : due) - performance.now()
    if (wait > 0) await delay(wait)
  }
  return { ids, elapsedMs: performance.now() - started, maxWalBytes: walPath === undefined ? undefined : maxWalBytes, walSamples, released }
}

async function countUnfinished(board: Board): Promise<number> {
  const row = await board.db
    .selectFrom('tasks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', 'in', ['todo', 'ready', 'running'])
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

export function taskId(k: number): string {
  return `t${String(k).padStart(6, '0')}`
}

/** A mix of chains inside a batch and links to the previous batch. */
export function dependenciesOf(k: number): number[] {
  const deps: number[] = []
  if (k % 4 === 0) deps.push(k - 1, k - 2)
  if (k % 10 === 5 && k > 50) deps.push(k - 50)
  return deps
}

async function allEvents(board: Board): Promise<BoardEvent[]> {
  const events: BoardEvent[] = []
  for (;;) {
    const page = await board.events({ afterId: events.at(-1)?.id ?? 0, limit: 10_000 })
    events.push(...page)
    if (page.length < 10_000) return events
  }
}

/**
 * The invariants of a claim-complete run, from what the workers reported and what the board holds.
 * Exported for the suite's own tests, which show each check can fail.
 */
export async function verifyClaimComplete(
  board: Board,
  ids: readonly string[],
  results: readonly ClaimCompleteProcessResult[],
  checks: ClaimCompleteChecks = {},
): Promise<void> {
  const workers = results.flatMap((result) => result.workers)
  const workerFailures = results.flatMap((result) => result.workerFailures)
  assert.deepEqual(workerFailures, [], 'a worker thread failed')
  // Before the errors: a lost lease is the cause of the ClaimMismatch a worker then meets.
  if (checks.leaseMs !== undefined) verifyHeartbeats(workers, checks.leaseMs, checks.released ?? [], checks.latenessBoundMs)
  const surfaced = workers.filter((worker) => Object.keys(worker.errors).length > 0)
  assert.deepEqual(
    surfaced.map((worker) => ({ worker: worker.workerId, errors: worker.errors, samples: worker.errorSamples })),
    [],
    'errors surfaced to workers (a BUSY here means the write path let SQLITE_BUSY through)',
  )

  // Completed exactly once, claimed by one worker only, as the workers saw it.
  const completedBy = new Map<string, string>()
  const claimedBy = new Map<string, string>()
  for (const worker of workers) {
    for (const id of worker.claimed) {
      assert.equal(claimedBy.get(id), undefined, `task ${id} was claimed by ${claimedBy.get(id)} and ${worker.workerId}`)
      claimedBy.set(id, worker.workerId)
    }
    for (const id of worker.completed) {
      assert.equal(completedBy.get(id), undefined, `task ${id} was completed by ${completedBy.get(id)} and ${worker.workerId}`)
      completedBy.set(id, worker.workerId)
    }
  }
  const missing = ids.filter((id) => !completedBy.has(id))
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} tasks were never completed by any worker`)
  assert.equal(completedBy.size, ids.length)

  // The board agrees: every task done.
  const statuses = await board.db.selectFrom('tasks').select('status').select((eb) => eb.fn.countAll<number>().as('n')).groupBy('status').execute()
  assert.deepEqual(
    statuses.map((row) => [row.status, Number(row.n)]),
    [['done', ids.length]],
    'not every task is done',
  )

  // The event log: created, claimed, completed exactly once per task, in order, by the worker that reported it.
  const events = await allEvents(board)
  const byTask = new Map<string, BoardEvent[]>()
  for (const event of events) {
    const list = byTask.get(event.taskId) ?? []
    list.push(event)
    byTask.set(event.taskId, list)
  }
  const claimedAt = new Map<string, number>()
  const completedAt = new Map<string, number>()
  for (const id of ids) {
    const list = byTask.get(id) ?? []
    const kinds = list.map((event) => event.kind).filter((kind) => kind !== 'promoted' && kind !== 'dependency_added')
    assert.deepEqual(kinds, ['created', 'claimed', 'completed'], `task ${id} has events ${kinds.join(', ')}`)
    const claimed = list.find((event) => event.kind === 'claimed')!
    const completed = list.find((event) => event.kind === 'completed')!
    const payload = claimed.payload as { workerId?: string } | null
    assert.equal(payload?.workerId, completedBy.get(id), `task ${id}: the claimed event names another worker than the one that completed it`)
    claimedAt.set(id, claimed.id)
    completedAt.set(id, completed.id)
  }
  const ordered = events.every((event, index) => index === 0 || event.id > events[index - 1]!.id)
  assert.ok(ordered, 'event ids are not increasing')

  // Dependency order: a dependency's completion precedes its dependent's claim.
  const dependencies = await board.db.selectFrom('task_dependencies').select(['task_id', 'depends_on_id']).execute()
  const expectedEdges = ids.reduce((sum, _id, index) => sum + dependenciesOf(index + 1).length, 0)
  assert.equal(dependencies.length, expectedEdges, 'the board does not hold every dependency that was created')
  for (const { task_id: taskId, depends_on_id: dependsOn } of dependencies) {
    assert.ok(
      completedAt.get(dependsOn)! < claimedAt.get(taskId)!,
      `task ${taskId} was claimed (event ${claimedAt.get(taskId)}) before its dependency ${dependsOn} completed (event ${completedAt.get(dependsOn)})`,
    )
  }

  // One run per task, ended as completed.
  const runs = await board.db.selectFrom('task_runs').select('outcome').select((eb) => eb.fn.countAll<number>().as('n')).groupBy('outcome').execute()
  assert.deepEqual(
    runs.map((row) => [row.outcome, Number(row.n)]),
    [['completed', ids.length]],
    'task runs are not one completed run per task',
  )
}

/** How the workers' claims were made: in the completing commit (`completeAndClaimNext`) or by a `claimNext` of their own. */
export function claimPaths(measures: ClaimCompleteMeasures): { readonly chained: number; readonly plain: number } {
  const workers = measures.processes.flatMap((process) => process.workers)
  return {
    chained: workers.reduce((sum, worker) => sum + (worker.claims?.chained ?? 0), 0),
    plain: workers.reduce((sum, worker) => sum + (worker.claims?.plain ?? 0), 0),
  }
}

/** Per-worker share of completions, for the report. */
export function describeShares(measures: ClaimCompleteMeasures): string {
  const counts = measures.processes.flatMap((process) => process.workers.map((worker) => worker.completed.length))
  const shares = counts.map((count) => count / measures.tasks)
  return `${Math.round((measures.tasks / measures.totalMs) * 1000)} tasks/s claimed+completed end to end; per-worker share of completions: min ${(Math.min(...shares) * 100).toFixed(1)}%, max ${(Math.max(...shares) * 100).toFixed(1)}% over ${counts.length} workers`
}

/**
 * The heartbeat invariants of a run whose workers heartbeated what they held: every worker
 * heartbeated at least once (else the bound tests nothing); no heartbeat finished later than
 * `bound` (default `leaseMs / 4`) after it was due; no lease ran out, whether a worker's heartbeat or completion
 * found its claim already expired or the dispatcher released it as expired. Timing enters only
 * through the lease/4 bound, which the caller picks so that only a heartbeat queued behind an
 * unbounded number of writes can miss it. Exported for the suite's own tests.
 */
export function verifyHeartbeats(workers: readonly ClaimCompleteWorkerResult[], leaseMs: number, released: readonly ReleasedClaim[], bound = leaseMs / 4): void {
  const silent = workers.filter((worker) => (worker.heartbeats?.latenessMs.length ?? 0) === 0).map((worker) => worker.workerId)
  assert.deepEqual(silent, [], 'workers that never heartbeated (the lateness bound would test nothing)')
  const lost = workers.flatMap((worker) => worker.heartbeats!.leasesLost.map((lease) => ({ worker: worker.workerId, ...lease })))
  assert.deepEqual(lost.slice(0, 10), [], `${lost.length} leases ran out while their workers heartbeated them (lease ${leaseMs} ms)`)
  assert.deepEqual(released.slice(0, 10), [], `the dispatcher released ${released.length} claims as expired: leases lost (lease ${leaseMs} ms)`)
  const late = workers.flatMap((worker) =>
    worker.heartbeats!.latenessMs.flatMap((lateness, index) => (lateness > bound ? [{ worker: worker.workerId, heartbeat: index, latenessMs: lateness }] : [])),
  )
  assert.deepEqual(late.slice(0, 10), [], `${late.length} heartbeats finished more than ${bound} ms after they were due (lease ${leaseMs} ms)`)
}

/** Heartbeat lateness over every worker, for the report. */
export function describeHeartbeats(measures: ClaimCompleteMeasures): string {
  const workers = measures.processes.flatMap((process) => process.workers)
  const lateness = workers.flatMap((worker) => worker.heartbeats?.latenessMs ?? []).sort((a, b) => a - b)
  if (lateness.length === 0) return 'no heartbeats'
  const at = (q: number) => lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))]!.toFixed(1)
  const counts = workers.map((worker) => worker.heartbeats?.latenessMs.length ?? 0)
  return `${lateness.length} heartbeats (per worker ${Math.min(...counts)}-${Math.max(...counts)}), lateness from due time p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${lateness.at(-1)!.toFixed(1)} ms`
}

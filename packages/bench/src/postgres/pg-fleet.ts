import { type ChildProcess, fork } from 'node:child_process'
import { setTimeout as delay } from 'node:timers/promises'
import type { Contender, Figures, RunContext, RunResult } from '../contender.ts'
import { maximum, percentile } from '../stats.ts'
import type { FromPgChild, PgChildKind, PgFleetInit, PgWorkerReport, ToPgChild } from './pg-fleet-protocol.ts'
import { verifyPgCycles } from './pg-raw-loop.ts'
import { pgDrift, pgServerNote } from './pg-single.ts'
import { adminClient, debug, fillPgBoard, openPgBoard, postgresUrl, restartCommand, runRestart, serverCpuReader, sharedNow, withFreshSchema } from './pg-server.ts'
import { firstWakeAfter, IDLE_WINDOW_MS, measureLocalStarts, START_TIMEOUT_MS, StartWaiter } from '../work-latency.ts'

/** Processes of every Postgres fleet (P2, P4, P5) and concurrent loops (or graphile-worker jobs) in each. */
export const PG_PROCESSES = 4
export const PG_CONCURRENCY = 8
/** The lease of the fleets' claims: long, since a no-op task is done in milliseconds; in P5 it is how long an in-doubt claim stays running. */
const LEASE_MS = 60_000
/** How long children get to report after `stop` (a P5 worker may still be retrying a completion). */
const STOP_GRACE_MS = 60_000
const CHILD = new URL('./pg-fleet-child.ts', import.meta.url)

/**
 * How many ready tasks (or jobs) a fleet gets before `go`, for `seconds` of work: twice the rate this
 * kind of fleet is expected to reach, so the queue never runs dry inside the measured time. For
 * graphile-worker, twice its own rate earlier in the repetition (at least 3,000/s). For the board's
 * fleets (whose backlog createTasks fills at about 1,500-3,000 rows/s, so it is not oversized
 * lightly): the larger of 2.5 x the board fleets measured earlier in this repetition and 8 x the
 * one-process figures (P1's contenders), at least 600/s (300/s in smoke mode).
 */
function fleetBacklog(context: RunContext, kind: 'graphile' | 'board', seconds: number): number {
  const rate = (id: string): number => context.earlier.get(id)?.['perSecond'] ?? 0
  const perSecond =
    kind === 'graphile'
      ? Math.max(3000, 2 * rate('pg-graphile-fleet'))
      : Math.max(
          context.options.smoke ? 300 : 600,
          2.5 * Math.max(rate('pg-raw-board-fleet'), rate('pg-fleet-hand'), rate('pg-fleet')),
          8 * Math.max(rate('pg-raw-board'), rate('pg-board')),
        )
  return Math.min(400_000, Math.ceil(perSecond * seconds) + 1000)
}

function inits(kind: PgChildKind, url: string, schema: string, count: number, extra: Partial<PgFleetInit> = {}): PgFleetInit[] {
  return Array.from({ length: count }, (_, i): PgFleetInit => ({
    type: 'init', kind, url, schema, workerId: `${kind}-${i}`, concurrency: PG_CONCURRENCY, leaseMs: LEASE_MS,
    reportStarts: false, retryConnectionLost: false, progressEveryMs: 0, ...extra,
  }))
}

const tell = (child: ChildProcess, message: ToPgChild): void => {
  if (child.connected) child.send(message, () => {})
}

/**
 * Forks one child per init, waits until every one is ready, sends `go` to all at once, runs
 * `during(goAt, cpuMarks)` (the scenario's own schedule; `cpuMarks` asks every child for its CPU time
 * so far), sends `stop` and collects one report from each.
 * `onMessage` hears `started` and `progress` as they come.
 */
async function runPgChildren(
  list: readonly PgFleetInit[],
  during: (goAt: number, cpuMarks: () => Promise<CpuMark[]>) => Promise<void>,
  onMessage: (message: FromPgChild, init: PgFleetInit) => void = () => {},
  marks: { readonly go?: () => void; readonly stop?: () => void } = {},
): Promise<PgWorkerReport[]> {
  const children: ChildProcess[] = []
  const markWaiters: Array<Array<(mark: CpuMark) => void>> = []
  try {
    const ready: Array<Promise<void>> = []
    const reports: Array<Promise<PgWorkerReport>> = []
    for (const init of list) {
      const child = fork(CHILD, [init.workerId], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      children.push(child)
      const waiters: Array<(mark: CpuMark) => void> = []
      markWaiters.push(waiters)
      const isReady = Promise.withResolvers<void>()
      const reported = Promise.withResolvers<PgWorkerReport>()
      child.on('message', (message: FromPgChild) => {
        if (message.type === 'ready') isReady.resolve()
        else if (message.type === 'mark') waiters.shift()?.(message)
        else if (message.type === 'fatal') {
          const error = new Error(`${init.workerId} failed: ${message.message}`)
          isReady.reject(error)
          reported.reject(error)
        } else if (message.type === 'report') reported.resolve(message)
        else onMessage(message, init)
      })
      child.on('exit', (code, signal) => {
        const error = new Error(`${init.workerId} exited (${signal ?? code}) before reporting`)
        isReady.reject(error)
        reported.reject(error)
      })
      child.on('error', () => {})
      isReady.promise.catch(() => {})
      reported.promise.catch(() => {})
      ready.push(isReady.promise)
      reports.push(reported.promise)
      tell(child, init)
    }
    await Promise.all(ready)
    debug(`${list.length} ${list[0]?.kind} children ready`)
    marks.go?.()
    const goAt = sharedNow()
    for (const child of children) tell(child, { type: 'go', goAt })
    // Each child's CPU time so far (W4), all asked at once.
    const cpuMarks = (): Promise<CpuMark[]> =>
      Promise.all(children.map((child, i) => new Promise<CpuMark>((resolve) => {
        markWaiters[i]!.push(resolve)
        tell(child, { type: 'mark' })
      })))
    // A child that dies during the run ends it at once, with its reason.
    await Promise.race([during(goAt, cpuMarks), Promise.all(reports)])
    for (const child of children) tell(child, { type: 'stop' })
    marks.stop?.()
    debug('stop sent')
    let watchdog: NodeJS.Timeout | undefined
    const overdue = new Promise<never>((_, reject) => {
      watchdog = setTimeout(() => reject(new Error(`a child did not report within ${STOP_GRACE_MS / 1000} s of stop`)), STOP_GRACE_MS)
    })
    const collected = await Promise.race([Promise.all(reports), overdue]).finally(() => clearTimeout(watchdog))
    await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)))
    return collected
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

/** A child's CPU time (user + system, ms) at a moment of the shared clock. */
interface CpuMark {
  readonly cpuMs: number
  readonly at: number
}

/** Throughput, fairness and double claims over the children's reports. */
function summarise(reports: readonly PgWorkerReport[], durationMs: number): { figures: Figures; doubles: string[]; notes: string[] } {
  const total = reports.reduce((n, r) => n + r.cycles, 0)
  const elapsed = Math.max(...reports.map((r) => r.elapsedMs))
  const fullWindows = Math.max(1, Math.floor(durationMs / 1000))
  let minShare = Infinity
  let minWindow = 0
  for (let window = 0; window < fullWindows; window++) {
    const counts = reports.map((r) => r.windows[window] ?? 0)
    const sum = counts.reduce((a, b) => a + b, 0)
    const share = sum === 0 ? 0 : Math.min(...counts) / sum
    if (share < minShare) [minShare, minWindow] = [share, window]
  }
  const doubles: string[] = []
  const ids = new Set<string>()
  for (const report of reports) {
    for (const id of report.ackedIds) {
      if (ids.has(id)) doubles.push(`task ${id} completed twice (acknowledged to two loops)`)
      ids.add(id)
    }
  }
  const tokens = new Set<string>()
  for (const report of reports) {
    for (const token of report.claimTokens) {
      if (tokens.has(token)) doubles.push(`claim token ${token} handed out twice`)
      tokens.add(token)
    }
  }
  const notes: string[] = []
  if (reports.length > 1) {
    const counts = reports.map((r) => r.windows[minWindow] ?? 0)
    notes.push(`smallest 1 s share ${(100 * minShare).toFixed(1)} % in second ${minWindow + 1} of ${fullWindows} (completions per process: ${counts.join(', ')})`)
  }
  const errors = reports.reduce((n, r) => n + r.errors, 0)
  if (errors > 0) notes.push(`${errors} errors reached the loops; first: ${reports.flatMap((r) => r.errorSamples).slice(0, 3).join(' | ')}`)
  const idle = reports.reduce((n, r) => n + r.idleWaits, 0)
  return {
    figures: {
      perSecond: (total * 1000) / elapsed,
      minWindowSharePct: 100 * minShare,
      doubleClaims: doubles.length,
      errors,
      idleWaits: idle,
    },
    doubles,
    notes,
  }
}

/**
 * Runs a throughput fleet for `durationMs` and says where its CPU went: the server's processes
 * (from /proc, where the server is on this machine) and the children's own (process.cpuUsage),
 * from go to stop, per task finished, and how many cores that kept busy on average.
 */
async function runMeasuredFleet(url: string, list: readonly PgFleetInit[], durationMs: number): Promise<{ reports: PgWorkerReport[]; cpu: Figures }> {
  const readServer = await serverCpuReader(url)
  let serverAtGo = NaN
  let serverMs = NaN
  const reports = await runPgChildren(list, () => delay(durationMs), undefined, {
    go: () => void (serverAtGo = readServer?.() ?? NaN),
    stop: () => void (serverMs = (readServer?.() ?? NaN) - serverAtGo),
  })
  const cycles = reports.reduce((n, r) => n + r.cycles, 0)
  const clientMs = reports.reduce((n, r) => n + r.cpuMs, 0)
  const elapsedMs = Math.max(...reports.map((r) => r.elapsedMs))
  return {
    reports,
    cpu: {
      serverCpuUsPerTask: (serverMs * 1000) / cycles,
      clientCpuUsPerTask: (clientMs * 1000) / cycles,
      cpuCoresBusy: (serverMs + clientMs) / elapsedMs,
    },
  }
}

/** The ids of every task in `status` on the board in `schema`. */
async function taskIds(url: string, schema: string, status: string): Promise<Set<string>> {
  const client = await adminClient(url, schema)
  try {
    return new Set((await client.query<{ id: string }>('SELECT id FROM tasks WHERE status = $1', [status])).rows.map((r) => r.id))
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * `pg-graphile-fleet` (P2's baseline): graphile-worker 0.18 with its defaults, 4 processes x
 * concurrency 8, no-op jobs queued before `go`, on the same server, in a fresh schema.
 */
export function pgGraphileFleet(): Contender {
  return {
    id: 'pg-graphile-fleet',
    description: `graphile-worker 0.18 defaults, ${PG_PROCESSES} processes x concurrency ${PG_CONCURRENCY}, no-op jobs; jobs per second`,
    kind: 'baseline',
    multiProcess: true,
    run: (context) =>
      withFreshSchema('graphile', async (url, schema): Promise<RunResult> => {
        const { makeWorkerUtils, Logger } = await import('graphile-worker')
        const utils = await makeWorkerUtils({ connectionString: url, schema, logger: new Logger(() => () => {}) })
        try {
          await utils.migrate()
          const jobs = fleetBacklog(context, 'graphile', context.durationMs / 1000)
          for (let added = 0; added < jobs; added += 5000) {
            await utils.addJobs(Array.from({ length: Math.min(5000, jobs - added) }, () => ({ identifier: 'noop', payload: {} })))
          }
          const { reports, cpu } = await runMeasuredFleet(url, inits('graphile', url, schema, PG_PROCESSES), context.durationMs)
          const { figures: counted, doubles, notes } = summarise(reports, context.durationMs)
          const figures = { ...counted, ...cpu }
          const client = await adminClient(url)
          let left: { total: number; locked: number }
          try {
            const { rows } = await client.query<{ total: string; locked: string }>(
              `SELECT count(*) AS total, count(locked_at) AS locked FROM ${schema}._private_jobs`,
            )
            left = { total: Number(rows[0]!.total), locked: Number(rows[0]!.locked) }
          } finally {
            await client.end().catch(() => {})
          }
          const handled = reports.reduce((n, r) => n + r.ackedIds.length, 0)
          if (doubles.length > 0) notes.push(`graphile-worker ran ${doubles.length} jobs twice (a peer's behaviour, not judged)`)
          if (left.locked > 0) notes.push(`graphile-worker left ${left.locked} jobs locked after a graceful runner.stop() (their handlers had run; they run again after its lock timeout)`)
          if (handled + left.total < jobs) notes.push(`graphile-worker: ${jobs} jobs queued, ${handled} handled, ${left.total} left: ${jobs - handled - left.total} unaccounted`)
          if (figures['idleWaits'] === 0 && left.total - left.locked === 0) notes.push('graphile-worker ran its queue dry: throughput understated')
          return { figures, failures: [], notes: [`${jobs} jobs queued`, ...notes] }
        } finally {
          await utils.release()
        }
      }),
  }
}

/**
 * `pg-raw-board-fleet` (a ceiling for P2, not a goal): 4 processes x 8 loops of the raw node-postgres
 * loop, each on its own connection, running the board's own statements with one commit per task
 * (complete and claim next in one transaction): what any implementation writing the board's rows gets
 * from this server. Fails on statement drift.
 *
 * `pg-raw-board-fleet-prepared`: the same statements as named prepared statements (node-postgres's
 * `name`: parsed and planned once per connection, as graphile-worker's are), where the board (through
 * Kysely) sends every statement unnamed, so the server parses and plans it on every call: what the
 * board's rows would cost with that changed.
 */
export function pgRawBoardFleet(prepared = false): Contender {
  const id = prepared ? 'pg-raw-board-fleet-prepared' : 'pg-raw-board-fleet'
  return {
    id,
    description:
      `${PG_PROCESSES} processes x ${PG_CONCURRENCY} connections running the board's own statements raw, one commit per task` +
      `${prepared ? ', as named prepared statements' : ''}; tasks per second`,
    kind: 'baseline',
    multiProcess: true,
    run: (context) =>
      withFreshSchema(prepared ? 'raw_fleet_prep' : 'raw_fleet', async (url, schema): Promise<RunResult> => {
        const drift = await pgDrift()
        const setup = await openPgBoard(url, schema)
        try {
          await fillPgBoard(setup, fleetBacklog(context, 'board', context.durationMs / 1000))
        } finally {
          await setup.close()
        }
        const { reports, cpu } = await runMeasuredFleet(url, inits('raw-board', url, schema, PG_PROCESSES, { prepared }), context.durationMs)
        const { figures: counted, doubles, notes } = summarise(reports, context.durationMs)
        const figures = { ...counted, ...cpu }
        const acked = reports.reduce((n, r) => n + r.ackedIds.length, 0)
        const failures = [...drift, ...doubles.slice(0, 3), ...reports.flatMap((r) => r.failures), ...(await verifyPgCycles(url, schema, acked, id))]
        if (figures['idleWaits']! > 0) notes.push(`the raw loops found the queue empty ${figures['idleWaits']} times: throughput understated`)
        return { figures, failures: failures.slice(0, 10), notes }
      }),
  }
}

/**
 * `pg-fleet` (P2, P4, W1): kanban-db on Postgres as users run it, 4 processes each running
 * `board.work` with 8 slots and a no-op handler (the library finishes each task with
 * completeAndClaimNext, one commit per task, and waits on onWake while idle), on a backlog created
 * before `go`. `pg-fleet-hand` and `pg-fleet-hand-after` (W1's baseline, just before and just after
 * it): the same fleet with 8 hand-written chained loops per process instead. Invariants: no task claimed or completed twice, every acknowledged completion done
 * on the board, every claim completed, nothing done that nobody acknowledged.
 */
export function pgFleet(loop: 'work' | 'hand' | 'hand-after' = 'work'): Contender {
  const hand = loop !== 'work'
  const id = { work: 'pg-fleet', hand: 'pg-fleet-hand', 'hand-after': 'pg-fleet-hand-after' }[loop]
  return {
    id,
    description: hand
      ? `kanban-db, ${PG_PROCESSES} processes x ${PG_CONCURRENCY} hand-written completeAndClaimNext loops, onWake when idle (W1 baseline, ${loop === 'hand' ? 'before' : 'after'} board.work's fleet); tasks per second`
      : `kanban-db, ${PG_PROCESSES} processes x board.work with ${PG_CONCURRENCY} slots (completeAndClaimNext chained, onWake when idle); tasks per second`,
    kind: hand ? 'baseline' : 'kanban-db',
    multiProcess: true,
    run: (context) =>
      withFreshSchema(hand ? 'fleet_hand' : 'fleet', async (url, schema): Promise<RunResult> => {
        const setup = await openPgBoard(url, schema)
        const backlog = fleetBacklog(context, 'board', context.durationMs / 1000)
        try {
          await fillPgBoard(setup, backlog)
        } finally {
          await setup.close()
        }
        const { reports, cpu } = await runMeasuredFleet(url, inits(hand ? 'board-hand' : 'board', url, schema, PG_PROCESSES), context.durationMs)
        const { figures: counted, doubles, notes } = summarise(reports, context.durationMs)
        const figures = { ...counted, ...cpu }
        const acked = new Set(reports.flatMap((r) => r.ackedIds))
        const done = await taskIds(url, schema, 'done')
        const running = await taskIds(url, schema, 'running')
        const ackedNotDone = [...acked].filter((id) => !done.has(id))
        const doneNotAcked = [...done].filter((id) => !acked.has(id))
        const lostTasks = ackedNotDone.length + doneNotAcked.length + running.size
        const failures = [...doubles.slice(0, 3), ...reports.flatMap((r) => r.failures)]
        if (ackedNotDone.length > 0) failures.push(`${ackedNotDone.length} acknowledged completions are not done on the board (first: ${ackedNotDone[0]})`)
        if (doneNotAcked.length > 0) failures.push(`${doneNotAcked.length} tasks are done on the board that no worker was told it completed (first: ${doneNotAcked[0]})`)
        if (running.size > 0) failures.push(`${running.size} tasks were left running after every worker finished its claims (first: ${[...running][0]})`)
        const released = reports.reduce((n, r) => n + r.released, 0)
        failures.push(...(await verifyPgCycles(url, schema, acked.size, id, released)))
        if (released > 0) notes.push(`board.work released ${released} tasks at stop (claimed by a chained completion while stopping; ready again)`)
        if (hand && figures['idleWaits']! > PG_PROCESSES * PG_CONCURRENCY) notes.push(`the loops found the queue empty ${figures['idleWaits']} times (backlog ${backlog}): throughput understated`)
        if (!hand && figures['idleWaits']! > PG_PROCESSES) notes.push(`the workers went idle ${figures['idleWaits']} times (backlog ${backlog}): throughput understated`)
        return { figures: { ...figures, lostTasks }, failures: failures.slice(0, 10), notes }
      }),
  }
}

/**
 * `pg-work-local` (W3, Postgres): `createTask` and an idle `board.work` in the same process: from
 * just before createTask to the handler's start.
 */
export function pgWorkLocal(): Contender {
  return {
    id: 'pg-work-local',
    description: 'W3, Postgres: createTask to the handler of an idle board.work in the same process; ms',
    kind: 'kanban-db',
    run: (context) =>
      withFreshSchema('local', async (url, schema): Promise<RunResult> => {
        const board = await openPgBoard(url, schema)
        try {
          const result = await measureLocalStarts(board, context)
          const failures = [...result.failures, ...(await verifyPgCycles(url, schema, result.figures['samples'] ?? 0, 'pg-work-local'))]
          return { ...result, failures }
        } finally {
          await board.close()
        }
      }),
  }
}

/**
 * `pg-wake-latency` (P3, W2 and W4 on Postgres): one worker process running `board.work` with 8 idle
 * slots (waiting on onWake: LISTEN/NOTIFY, plus the worker's own 1 s poll); this process creates one
 * task at a time and times from just before `createTask` to the handler's start in the worker (the
 * shared monotonic clock, CLOCK_MONOTONIC in both processes), pausing 5-15 ms between tasks so the
 * worker is idle again each time. Then W4: the worker process's CPU time (user + system) over 10 s
 * of idling (0.5 s in smoke mode), and the server's over the same window (its processes from /proc,
 * where it runs on this machine: what the idle worker's own polling costs the server, plus anything
 * else the server did meanwhile).
 */
export function pgWakeLatency(): Contender {
  return {
    id: 'pg-wake-latency',
    description: 'createTask in this process to the handler of an idle board.work (8 slots, LISTEN/NOTIFY) in another process (ms); the idle worker\'s CPU (%)',
    kind: 'kanban-db',
    multiProcess: true,
    run: (context) =>
      withFreshSchema('wake', async (url, schema): Promise<RunResult> => {
        const board = await openPgBoard(url, schema)
        const readServer = await serverCpuReader(url)
        try {
          type Start = { readonly at: number; readonly wakes: readonly number[] }
          const starts = new StartWaiter<Start>()
          const latencies: number[] = []
          const createMs: number[] = []
          const notifyMs: number[] = []
          const handlerMs: number[] = []
          const failures: string[] = []
          let created = 0
          let idleCpuPct = NaN
          let serverIdleCpuPct = NaN
          const windowMs = context.options.smoke ? 500 : IDLE_WINDOW_MS
          const minSamples = context.options.smoke ? 10 : 100
          const reports = await runPgChildren(
            inits('board', url, schema, 1, { reportStarts: true }),
            async (goAt, cpuMarks) => {
              // The worker LISTENs before it says ready; give its first (empty) claims time to settle.
              await delay(100)
              while (failures.length < 5 && (sharedNow() - goAt < context.durationMs || latencies.length < minSamples)) {
                await delay(5 + Math.random() * 10)
                const t0 = sharedNow()
                const task = await board.createTask({ title: `wake ${created++}` })
                createMs.push(sharedNow() - t0)
                const start = await starts.startOf(task.id)
                if (start === undefined) failures.push(`task ${task.id} was not started within ${START_TIMEOUT_MS} ms of its creation`)
                else {
                  const wokenAt = firstWakeAfter(start.wakes, t0)
                  latencies.push(start.at - t0)
                  if (Number.isFinite(wokenAt)) {
                    notifyMs.push(wokenAt - t0)
                    handlerMs.push(start.at - wokenAt)
                  }
                }
              }
              // W4: the worker idles (its last task is done, nothing is created).
              await delay(context.options.smoke ? 50 : 500)
              const serverBefore = readServer?.() ?? NaN
              const [first] = await cpuMarks()
              await delay(windowMs)
              const [last] = await cpuMarks()
              const serverAfter = readServer?.() ?? NaN
              idleCpuPct = (100 * (last!.cpuMs - first!.cpuMs)) / (last!.at - first!.at)
              serverIdleCpuPct = (100 * (serverAfter - serverBefore)) / (last!.at - first!.at)
            },
            (message) => {
              if (message.type === 'started') starts.started(message.id, message)
            },
          )
          const acked = reports.reduce((n, r) => n + r.ackedIds.length, 0)
          if (acked !== created) failures.push(`${created} tasks created, the worker completed ${acked}`)
          failures.push(...reports.flatMap((r) => r.failures), ...reports.flatMap((r) => r.errorSamples))
          failures.push(...(await verifyPgCycles(url, schema, acked, 'pg-wake-latency', reports.reduce((n, r) => n + r.released, 0))))
          return {
            figures: {
              p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), maxMs: maximum(latencies), samples: latencies.length,
              createP50Ms: percentile(createMs, 50), notifyP50Ms: percentile(notifyMs, 50), wakeToHandlerP50Ms: percentile(handlerMs, 50),
              idleCpuPct, serverIdleCpuPct,
            },
            failures: failures.slice(0, 10),
            notes: [
              `${latencies.length} samples; p50 from just before createTask: its COMMIT acknowledged ${percentile(createMs, 50).toFixed(2)} ms, ` +
                `the worker's onWake ${percentile(notifyMs, 50).toFixed(2)} ms; from onWake to the handler (board.work's claim) ${percentile(handlerMs, 50).toFixed(2)} ms ` +
                `(p99 ${percentile(createMs, 99).toFixed(1)} / ${percentile(notifyMs, 99).toFixed(1)} / ${percentile(handlerMs, 99).toFixed(1)} ms)`,
              `idle over ${(windowMs / 1000).toFixed(1)} s: the worker process ${idleCpuPct.toFixed(3)} % of one core, the server's processes ${serverIdleCpuPct.toFixed(3)} %` +
                `${readServer ? '' : ' (not on this machine: not measured)'}`,
            ],
            samples: { wakeLatencyMs: latencies, createMs, notifyMs, handlerMs },
          }
        } finally {
          await board.close()
        }
      }),
  }
}

/**
 * `pg-restart` (P5): the P2 fleet (4 processes x board.work with 8 slots) with the server restarted
 * mid-run by the restart command (`sh -c "$KANBAN_DB_POSTGRES_RESTART"`, `pg_ctl restart -m fast`
 * under ./dev). board.work retries what ConnectionLost interrupted itself (claims after a growing
 * pause, a completion up to three times); a completion whose retry is refused with ClaimMismatch is
 * read back (done: the first try landed); one it gave up on is counted (`gaveUp`: its task stays
 * running until its lease ends, then runs again). The run goes on until work
 * has resumed, then one more second. Measured: acknowledged completions not done afterwards (must be
 * 0), tasks done twice (an invariant), the longest stretch without any acknowledged completion, and
 * the claims of in-doubt commits left running (at most one per in-doubt call).
 */
export function pgRestart(): Contender {
  return {
    id: 'pg-restart',
    description: `the ${PG_PROCESSES} x ${PG_CONCURRENCY} kanban-db fleet with the server restarted mid-run; lost acknowledgements, resume gap`,
    kind: 'kanban-db',
    multiProcess: true,
    run: async (context) => {
      postgresUrl()
      const command = restartCommand()
      return withFreshSchema('restart', async (url, schema): Promise<RunResult> => {
        const restartAfterMs = Math.max(context.options.smoke ? 200 : 1000, context.durationMs / 2)
        const tailMs = context.options.smoke ? 300 : 1000
        const setup = await openPgBoard(url, schema)
        try {
          // Sized for the run plus 3 s of work: the run ends a second (smoke: 0.3 s) after work resumed.
          await fillPgBoard(setup, fleetBacklog(context, 'board', context.durationMs / 1000 + 3))
        } finally {
          await setup.close()
        }
        let restartMs = NaN
        let restartBegan = NaN
        // The latest count of acknowledged completions each worker reported (every 50 ms).
        const ackedBy = new Map<string, number>()
        const ackedNow = (): number => [...ackedBy.values()].reduce((a, b) => a + b, 0)
        const reports = await runPgChildren(
          inits('board', url, schema, PG_PROCESSES, { retryConnectionLost: true, progressEveryMs: 50 }),
          async (goAt) => {
            await delay(restartAfterMs)
            restartBegan = sharedNow()
            debug(`restarting the server (${ackedNow()} completions so far)`)
            restartMs = await runRestart(command)
            debug(`restart command done in ${restartMs.toFixed(0)} ms (${ackedNow()} completions so far)`)
            // Work has resumed once any worker reports a completion acknowledged after the restart.
            const before = ackedNow()
            const deadline = sharedNow() + 15_000
            while (ackedNow() <= before && sharedNow() < deadline) await delay(20)
            debug(`work resumed (${ackedNow()} completions so far)`)
            const until = Math.max(goAt + context.durationMs, sharedNow() + tailMs)
            await delay(Math.max(0, until - sharedNow()))
          },
          (message, init) => {
            if (message.type === 'progress') ackedBy.set(init.workerId, message.acked)
          },
        )
        const { figures, doubles } = summarise(reports, context.durationMs)
        const ackTimes = reports.flatMap((r) => r.ackTimes).sort((a, b) => a - b)
        let gap = 0
        let gapStart = NaN
        for (let i = 1; i < ackTimes.length; i++) {
          if (ackTimes[i]! - ackTimes[i - 1]! > gap) {
            gap = ackTimes[i]! - ackTimes[i - 1]!
            gapStart = ackTimes[i - 1]!
          }
        }
        const ackedIds = new Set(reports.flatMap((r) => r.ackedIds))
        const done = await taskIds(url, schema, 'done')
        const running = await taskIds(url, schema, 'running')
        const lostAcks = [...ackedIds].filter((id) => !done.has(id))
        const inDoubt = reports.reduce((n, r) => n + r.inDoubt, 0)
        const connectionLost = reports.reduce((n, r) => n + r.connectionLost, 0)
        const confirmed = reports.reduce((n, r) => n + r.confirmedAfterLoss, 0)
        const gaveUp = reports.reduce((n, r) => n + r.gaveUp, 0)
        const doneUnacked = [...done].filter((id) => !ackedIds.has(id)).length
        const failures = [...doubles.slice(0, 3), ...reports.flatMap((r) => r.failures)]
        if (lostAcks.length > 0) failures.push(`${lostAcks.length} completions acknowledged to a worker are not done after the restart (first: ${lostAcks[0]})`)
        const client = await adminClient(url, schema)
        try {
          const twice = Number((await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM (SELECT task_id FROM events WHERE kind = 'completed' GROUP BY task_id HAVING count(*) > 1) AS t`,
          )).rows[0]!.n)
          if (twice > 0) failures.push(`${twice} tasks were completed twice ('completed' events)`)
        } finally {
          await client.end().catch(() => {})
        }
        // A claim the worker never heard of (an in-doubt COMMIT that landed) or a completion it gave
        // up on stays running until its lease ends; the latter may also be done unacknowledged.
        if (running.size > inDoubt + gaveUp) failures.push(`${running.size} tasks left running, more than the ${inDoubt} calls whose COMMIT was in doubt and the ${gaveUp} completions board.work gave up on: lost claims`)
        if (doneUnacked > inDoubt + gaveUp) failures.push(`${doneUnacked} tasks done that no worker was told it completed, more than the ${inDoubt} in-doubt calls and ${gaveUp} given-up completions`)
        return {
          figures: {
            perSecond: figures['perSecond']!, lostAcks: lostAcks.length, resumeGapMs: gap, restartMs, connectionLost, inDoubt,
            confirmedAfterLoss: confirmed, leftRunning: running.size, gaveUp, errors: figures['errors']!,
          },
          failures: failures.slice(0, 10),
          notes: [
            `restart command took ${restartMs.toFixed(0)} ms; the longest stretch without an acknowledged completion, ${gap.toFixed(0)} ms, began ` +
              `${(gapStart - restartBegan).toFixed(0)} ms after the restart command started; ${connectionLost} ConnectionLost met and retried, ` +
              `${inDoubt} with the COMMIT in doubt, ${confirmed} completions confirmed by reading back, ${running.size} tasks left running until their lease (${LEASE_MS / 1000} s) ends, ` +
              `${doneUnacked} tasks done whose acknowledgement was lost, ${gaveUp} completions board.work gave up on after its retries (left running until their lease ends)`,
          ],
        }
      })
    },
  }
}

import { type ChildProcess, fork } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { CompiledQuery } from 'kysely'
import { wallNow } from '../clock.ts'
import { type Contender, type Figures, NotMeasured, type RunContext, type RunResult } from '../contender.ts'
import { openRaw, rawTasksSchema, type Synchronous } from '../baselines/raw-database.ts'
import { rawClaimLoop } from '../baselines/raw-claim.ts'
import { createRawBoard, rawBoardLoop, verifyRawBoard } from '../baselines/raw-board.ts'
import { adapterModuleName, boardPragma, fillBoard, openBenchBoard, verifyCompletions } from '../board-client.ts'
import type { DispatcherReport, FleetInit, FromFleetChild, ToFleetChild, WorkerReport } from '../children/fleet-protocol.ts'
import { FLEET_HEARTBEAT_EVERY_MS, FLEET_LEASE_MS } from '../goals.ts'
import { maximum, percentile } from '../stats.ts'
import { backlogFor, readyBacklog } from './backlog.ts'

const WORKERS = 4
/**
 * How long children get to report after `stop` before the run is failed: longer than the board's
 * busy retry budget (30 s), since a worker may be waiting for the write lock when stop arrives.
 */
const STOP_GRACE_MS = 60_000
const CHILD = new URL('../children/fleet-child.ts', import.meta.url)

/**
 * `fleet/<sync>` (G2-G4, G8, C1-C4, W1): a dispatcher process and 4 worker processes on one board,
 * started together by an IPC `go`. Each worker runs `board.work` (the library's loop, two slots):
 * one slot holds a task all run and heartbeats it, the other finishes each task and claims the
 * next in one commit (completeAndClaimNext, which the library chains) as fast as it can; every
 * 125 ms the dispatcher tops the ready queue up to the backlog, and every 250 ms it releases expired
 * claims. From `go` on, this process samples the WAL size every 100 ms and reads the event log each
 * second like a dashboard. Invariants: every claimed task completed exactly once, unique claim
 * tokens, no claim of a heartbeating worker released.
 *
 * `fleet-hand/<sync>` and `fleet-hand-after/<sync>` (W1's baseline, run just before and just after
 * `fleet/<sync>`, so drift and the place in the order cancel out) are the same fleet with the
 * hand-written loop in each worker (claimNext, then completeAndClaimNext per task, the held task
 * heartbeated by its own timer): what `board.work` must match.
 *
 * `raw-fleet/<sync>` is the reference without kanban-db: the same 4 workers running the hand-written
 * raw loop under SQLite's busy handler (busy_timeout 5000), no dispatcher, no heartbeats.
 * `raw-board-fleet/<sync>` is the same with raw-board's loop (the board's own statements and rows,
 * on a file `openBoard` created; two commits per cycle), and `raw-board-fleet-chained/<sync>` with
 * its one-transaction complete-and-claim-next (one commit per cycle).
 */
export function fleet(synchronous: Synchronous, mode: FleetMode): Contender {
  const name = {
    board: 'fleet', raw: 'raw-fleet', hand: 'fleet-hand', 'hand-after': 'fleet-hand-after', 'raw-board': 'raw-board-fleet', 'raw-board-chained': 'raw-board-fleet-chained',
  }[mode]
  const raw = mode === 'raw' || mode === 'raw-board' || mode === 'raw-board-chained'
  const description = {
    board: 'running board.work (the library\'s loop: completeAndClaimNext chained, heartbeats by the library)',
    hand: 'running the hand-written completeAndClaimNext loop (W1 baseline, before board.work\'s fleet)',
    'hand-after': 'running the hand-written completeAndClaimNext loop (W1 baseline, after board.work\'s fleet)',
    raw: 'running the raw claim loop (tasks table only)',
    'raw-board': "running the board's own statements raw (two commits per cycle)",
    'raw-board-chained': "running the board's own statements raw, complete and claim-next in one commit",
  }[mode]
  return {
    id: `${name}/${synchronous}`,
    description: raw
      ? `${WORKERS} processes ${description}, busy_timeout 5000, ${synchronous}; aggregate cycles per second`
      : `dispatcher + ${WORKERS} worker processes ${description}, ${synchronous}; aggregate cycles per second`,
    kind: mode === 'board' ? 'kanban-db' : 'baseline',
    multiProcess: true,
    run: (context) =>
      mode === 'raw'
        ? runRawFleet(context, synchronous)
        : mode === 'raw-board' || mode === 'raw-board-chained'
          ? runRawBoardFleet(context, synchronous, mode === 'raw-board-chained')
          : runBoardFleet(context, synchronous, mode === 'board' ? 'work' : 'hand'),
  }
}

/**
 * What a fleet runs: kanban-db's board through `board.work` (`board`) or the hand-written chained
 * loop (`hand`, and `hand-after` for the same run after board.work's), raw-claim's loop (`raw`), or raw-board's loop (`raw-board`, `raw-board-chained`).
 */
export type FleetMode = 'board' | 'raw' | 'hand' | 'hand-after' | 'raw-board' | 'raw-board-chained'

async function runBoardFleet(context: RunContext, synchronous: Synchronous, loop: 'work' | 'hand'): Promise<RunResult> {
  const path = join(context.dir, 'board.db')
  const dashboard = await openBenchBoard(path, synchronous)
  const needs = loop === 'work' ? 'work' : 'completeAndClaimNext'
  if (typeof (dashboard as unknown as Record<string, unknown>)[needs] !== 'function') {
    await dashboard.close()
    throw new NotMeasured(`the Board has no ${needs} yet`)
  }
  const children: ChildProcess[] = []
  let sampler: NodeJS.Timeout | undefined
  let poller: NodeJS.Timeout | undefined
  let reading = Promise.resolve()
  try {
    await fillBoard(dashboard, readyBacklog(context))
    const walLimitBytes = Number(await boardPragma(dashboard, 'wal_autocheckpoint')) * Number(await boardPragma(dashboard, 'page_size'))
    const leaseMs = fleetLeaseMs(context)
    const base = {
      type: 'init', mode: 'board', chained: false, loop, path, adapterModule: adapterModuleName(), synchronous, leaseMs, heartbeatEveryMs: FLEET_HEARTBEAT_EVERY_MS,
      readyBacklog: readyBacklog(context),
    } as const
    const inits: FleetInit[] = [
      { ...base, role: 'dispatcher', workerId: 'dispatcher' },
      ...Array.from({ length: WORKERS }, (_, i): FleetInit => ({ ...base, role: 'worker', workerId: `worker-${i}` })),
    ]
    const walSizes: number[] = []
    let lastEventId = 0
    const eventFailures: string[] = []
    let eventsRead = 0
    const readEvents = async (): Promise<void> => {
      for (;;) {
        const batch = await dashboard.events({ afterId: lastEventId, limit: 10_000 })
        for (const event of batch) {
          if (event.id <= lastEventId) eventFailures.push(`event ${event.id} came after event ${lastEventId}`)
          lastEventId = event.id
        }
        eventsRead += batch.length
        if (batch.length < 10_000) return
      }
    }
    // One read at a time: a poll that is still reading when the next one is due goes first.
    const poll = (): Promise<void> =>
      (reading = reading.then(readEvents).catch((error: unknown) => void eventFailures.push(String(error))))
    const reports = await runChildren(children, inits, context.durationMs, () => {
      walSizes.push(walBytes(path))
      sampler = setInterval(() => walSizes.push(walBytes(path)), 100)
      poller = setInterval(() => void poll(), 1000)
    })
    clearInterval(sampler)
    clearInterval(poller)
    await poll()
    const notes: string[] = []
    const workers = reports.filter((r): r is WorkerReport => r.role === 'worker')
    const dispatcherReport = reports.find((r): r is DispatcherReport => r.role === 'dispatcher')
    const result = summarise(workers, dispatcherReport, context.durationMs)
    const failures = [...result.failures, ...eventFailures.slice(0, 3)]
    if (dispatcherReport) notes.push(`the dispatcher created ${dispatcherReport.created} tasks during the run`)
    const completed = workers.reduce((n, w) => n + w.cycles + w.heldCompleted, 0)
    failures.push(...(await verifyCompletions(dashboard, completed)))
    const logged = await dashboard.db.executeQuery(CompiledQuery.raw('SELECT count(*) AS n FROM events'))
    const eventsOnBoard = Number((logged.rows[0] as { n: number }).n)
    if (eventsRead !== eventsOnBoard) failures.push(`the dashboard read ${eventsRead} events, the board holds ${eventsOnBoard}`)
    return {
      figures: { ...result.figures, walPeakBytes: maximum(walSizes), walLimitBytes, eventsRead },
      failures,
      notes: [
        `WAL limit = wal_autocheckpoint x page_size = ${walLimitBytes} bytes; lease ${leaseMs} ms, heartbeat every ${FLEET_HEARTBEAT_EVERY_MS} ms`,
        ...result.notes,
        ...notes,
      ],
      samples: { walBytes: walSizes, ...result.samples },
    }
  } finally {
    clearInterval(sampler)
    clearInterval(poller)
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await reading.catch(() => {})
    await dashboard.close()
  }
}

async function runRawFleet(context: RunContext, synchronous: Synchronous): Promise<RunResult> {
  const path = join(context.dir, 'raw.db')
  const setup = openRaw(path, synchronous)
  const children: ChildProcess[] = []
  try {
    setup.exec(rawTasksSchema)
    // Sized as if each of the 4 workers ran as fast as one raw process: a one-process rate measured
    // in a dip of a noisy machine (200/s against 800/s for the fleet, seen) must not let it run dry.
    rawClaimLoop(setup, 'setup').refill(backlogFor(context, `raw-claim/${synchronous}`, WORKERS))
    const inits = Array.from({ length: WORKERS }, (_, i): FleetInit => ({
      type: 'init', role: 'worker', mode: 'raw', rawRows: 'tasks', chained: false, path, adapterModule: adapterModuleName(), synchronous, workerId: `raw-${i}`, leaseMs: fleetLeaseMs(context),
      heartbeatEveryMs: FLEET_HEARTBEAT_EVERY_MS, readyBacklog: 0,
    }))
    const reports = await runChildren(children, inits, context.durationMs, () => {})
    const workers = reports.filter((r): r is WorkerReport => r.role === 'worker')
    const result = summarise(workers, undefined, context.durationMs)
    const completed = workers.reduce((n, w) => n + w.cycles, 0)
    const done = (setup.prepare("SELECT count(*) AS n FROM tasks WHERE status = 'done'").get() as { n: number }).n
    const failures = [...result.failures]
    if (done !== completed) failures.push(`${done} tasks done on the raw board, the workers completed ${completed}`)
    return { figures: result.figures, failures, notes: result.notes, samples: result.samples }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    setup.close()
  }
}

async function runRawBoardFleet(context: RunContext, synchronous: Synchronous, chained: boolean): Promise<RunResult> {
  const path = join(context.dir, 'raw-board.db')
  const { db: setup, pragmas, drift } = await createRawBoard(path, synchronous)
  const children: ChildProcess[] = []
  try {
    // Sized as raw-fleet's backlog, from raw-claim's one-process rate (faster than raw-board's, which
    // is measured under FULL only): never run dry.
    rawBoardLoop(setup, 'setup').refill(backlogFor(context, `raw-claim/${synchronous}`, WORKERS))
    const inits = Array.from({ length: WORKERS }, (_, i): FleetInit => ({
      type: 'init', role: 'worker', mode: 'raw', rawRows: 'board', boardPragmas: pragmas, chained, path, adapterModule: adapterModuleName(), synchronous,
      workerId: `raw-board-${i}`, leaseMs: fleetLeaseMs(context), heartbeatEveryMs: FLEET_HEARTBEAT_EVERY_MS, readyBacklog: 0,
    }))
    const reports = await runChildren(children, inits, context.durationMs, () => {})
    const workers = reports.filter((r): r is WorkerReport => r.role === 'worker')
    const result = summarise(workers, undefined, context.durationMs)
    // The last chained task of each worker was completed after its clock stopped: heldCompleted.
    const completed = workers.reduce((n, w) => n + w.cycles + w.heldCompleted, 0)
    const failures = [...drift, ...result.failures, ...verifyRawBoard(setup, completed, `raw-board-fleet${chained ? '-chained' : ''}`)]
    return { figures: result.figures, failures, notes: result.notes, samples: result.samples }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    setup.close()
  }
}

/**
 * The fleet's lease: {@link FLEET_LEASE_MS} in a real run, where a heartbeat more than a lease late
 * is what the invariant is there to catch; 30 s in smoke mode, which CI runs on a loaded machine
 * and which must fail only on a real bug (a heartbeat that never lands, a foreign token), never
 * because the machine stalled for two seconds.
 */
function fleetLeaseMs(context: RunContext): number {
  return context.options.smoke ? 30_000 : FLEET_LEASE_MS
}

/** Sends to a child unless its channel is already closed (it died: its promises say why). */
function tell(child: ChildProcess, message: ToFleetChild): void {
  if (child.connected) child.send(message, () => {})
}

const debug = (message: string): void => {
  if (process.env['BENCH_DEBUG']) console.error(`[fleet ${new Date().toISOString()}] ${message}`)
}

/** The WAL's size in bytes (a stat, never an open), 0 while there is none. */
function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size
  } catch {
    return 0
  }
}

/**
 * Forks one child per init, waits until all are ready, sends `go` to all at once, lets them run for
 * `durationMs`, sends `stop` and collects one report from each.
 */
export async function runChildren(
  children: ChildProcess[],
  inits: readonly FleetInit[],
  durationMs: number,
  onGo: () => void,
): Promise<Array<WorkerReport | DispatcherReport>> {
  const ready: Array<Promise<void>> = []
  const settled: boolean[] = []
  const reports: Array<Promise<WorkerReport | DispatcherReport>> = []
  for (const init of inits) {
    const child = fork(CHILD, [init.workerId], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(child)
    const isReady = Promise.withResolvers<void>()
    const reported = Promise.withResolvers<WorkerReport | DispatcherReport>()
    child.on('message', (message: FromFleetChild) => {
      if (message.type === 'ready') isReady.resolve()
      else if (message.type === 'fatal') {
        const error = new Error(`${init.workerId} failed: ${message.message}`)
        isReady.reject(error)
        reported.reject(error)
      } else reported.resolve(message)
    })
    child.on('exit', (code, signal) => {
      const error = new Error(`${init.workerId} exited (${signal ?? code}) before reporting`)
      isReady.reject(error)
      reported.reject(error)
    })
    // Handled when awaited below; avoid an unhandled rejection if an earlier child fails first.
    isReady.promise.catch(() => {})
    reported.promise.catch(() => {})
    const index = reports.length
    void reported.promise.then(
      () => (settled[index] = true),
      () => (settled[index] = true),
    )
    ready.push(isReady.promise)
    reports.push(reported.promise)
    // A child that died closes its channel; its exit or fatal message rejects its promises instead.
    child.on('error', () => {})
    tell(child, init)
  }
  await Promise.all(ready)
  const goAt = wallNow()
  for (const child of children) tell(child, { type: 'go', goAt })
  onGo()
  await Promise.race([new Promise((resolve) => setTimeout(resolve, durationMs)), Promise.all(reports)])
  for (const child of children) tell(child, { type: 'stop' })
  debug(`stop sent to ${children.length} children`)
  let watchdog: NodeJS.Timeout | undefined
  const overdue = new Promise<never>((_, reject) => {
    watchdog = setTimeout(() => {
      const late = inits.filter((_, i) => !settled[i]).map((init) => init.workerId)
      reject(new Error(`${late.join(', ')} did not report within ${STOP_GRACE_MS / 1000} s of stop (stuck in a write?)`))
    }, STOP_GRACE_MS)
  })
  const collected = await Promise.race([Promise.all(reports), overdue]).finally(() => clearTimeout(watchdog))
  await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)))
  return collected
}

/** Throughput, fairness, latency and invariants over the workers' reports. */
function summarise(
  workers: readonly WorkerReport[],
  dispatcher: DispatcherReport | undefined,
  durationMs: number,
): { figures: Figures; failures: string[]; notes: string[]; samples: Record<string, number[]> } {
  const failures: string[] = []
  const notes: string[] = []
  for (const w of workers) failures.push(...w.failures.map((f) => `${w.workerId}: ${f}`))
  if (dispatcher) failures.push(...dispatcher.failures.map((f) => `dispatcher: ${f}`))
  const total = workers.reduce((n, w) => n + w.cycles, 0)
  const elapsed = Math.max(...workers.map((w) => w.elapsedMs))
  const ids = new Set<string>()
  const tokens = new Set<string>()
  for (const w of workers) {
    for (const id of w.claimedIds) {
      if (ids.has(id)) failures.push(`task ${id} claimed by two workers`)
      ids.add(id)
    }
    for (const token of w.claimTokens) {
      if (tokens.has(token)) failures.push(`claim token ${token} handed out twice`)
      tokens.add(token)
    }
  }
  if (dispatcher && dispatcher.releasedIds.length > 0) {
    failures.push(`${dispatcher.releasedIds.length} claims expired and were released while their workers kept heartbeating or working (first: ${dispatcher.releasedIds[0]})`)
  }
  const empty = workers.reduce((n, w) => n + w.empty, 0)
  if (empty > 0) notes.push(`workers found no ready task ${empty} times (backlog ran dry; throughput understated)`)
  const fullWindows = Math.max(1, Math.floor(durationMs / 1000))
  let minWindowShare = Infinity
  for (let window = 0; window < fullWindows; window++) {
    const counts = workers.map((w) => w.windows[window] ?? 0)
    const sum = counts.reduce((a, b) => a + b, 0)
    minWindowShare = Math.min(minWindowShare, sum === 0 ? 0 : Math.min(...counts) / sum)
  }
  const claimLatencies = workers.flatMap((w) => w.claimLatenciesMs)
  const heartbeats = workers.flatMap((w) => w.heartbeatLatenessMs)
  const busy = workers.reduce((n, w) => n + w.busy, 0) + (dispatcher?.busy ?? 0)
  const figures: Figures = {
    perSecond: (total * 1000) / elapsed,
    minSharePct: total === 0 ? 0 : (100 * Math.min(...workers.map((w) => w.cycles))) / total,
    minWindowSharePct: 100 * minWindowShare,
    claimP99Ms: percentile(claimLatencies, 99),
    claimMaxMs: maximum(claimLatencies),
    busy,
    // The workers' own CPU per cycle (the dispatcher's not included): robust to a loaded machine,
    // where throughput swings; W1's CPU line compares it.
    workerCpuUsPerCycle: total === 0 ? NaN : (1000 * workers.reduce((n, w) => n + w.cpuMs, 0)) / total,
  }
  if (heartbeats.length > 0) {
    figures['heartbeatP99Ms'] = percentile(heartbeats, 99)
    figures['heartbeatMaxMs'] = maximum(heartbeats)
  }
  return {
    figures,
    failures: failures.slice(0, 10),
    notes,
    samples: { claimLatencyMs: claimLatencies, heartbeatLatenessMs: heartbeats },
  }
}

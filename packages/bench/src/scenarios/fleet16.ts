import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { type Contender, type Figures, NotMeasured, type RunContext, type RunResult } from '../contender.ts'
import type { Synchronous } from '../baselines/raw-database.ts'
import { createRawBoard, rawBoardLoop, verifyRawBoard } from '../baselines/raw-board.ts'
import { adapterModuleName, fillBoard, openBenchBoard, verifyCompletions } from '../board-client.ts'
import type { DispatcherReport, FleetInit, WorkerReport } from '../children/fleet-protocol.ts'
import type { Ceiling, Goal } from '../goals.ts'
import { maximum, percentile } from '../stats.ts'
import { backlogFor, readyBacklog } from './backlog.ts'
import { runChildren } from './fleet.ts'

/** Worker processes of both fleets (issue 18 item 1: lock polling must not collapse at 16). */
export const FLEET16_WORKERS = 16
/** The lease of every claim in `fleet16` (S3), and how often the held task is heartbeated. */
export const FLEET16_LEASE_MS = 3000
export const FLEET16_HEARTBEAT_EVERY_MS = 1000
const SYNC: Synchronous = 'FULL'
const RAW_ID = `raw-board-fleet16/${SYNC}`
const BOARD_ID = `fleet16/${SYNC}`

/**
 * `raw-board-fleet16/FULL` and `fleet16/FULL`, run one right after the other (issue 18 item 1):
 *
 * - the raw fleet: 16 processes running raw-board's loop (the board's own statements and rows on a
 *   file `openBoard` created) under SQLite's busy handler (busy_timeout 5000), each finishing a task
 *   and claiming the next in one transaction, as `board.work` does: what SQLite left alone gets;
 * - the board fleet: a dispatcher and 16 worker processes running `board.work` (two slots: one task
 *   held all run and heartbeated every second, the other finishing each task and claiming the next
 *   in one commit), every claim with a 3 s lease, the library heartbeating each running task every
 *   second (lease/3), the dispatcher topping the ready queue up and calling `releaseStaleClaims`
 *   every second.
 *
 * Both fork the fleet's own child (`children/fleet-child.ts`). A lease taken back while its worker
 * waited (S3) is counted as a figure here, not failed as an invariant; a task completed twice, a
 * token handed out twice, or the board's counts disagreeing with the workers' still fail the run.
 */
export function fleet16(): Contender[] {
  return [
    {
      id: RAW_ID,
      description: `${FLEET16_WORKERS} processes running the board's own statements raw, complete and claim-next in one commit, busy_timeout 5000, ${SYNC}; aggregate cycles per second`,
      kind: 'baseline',
      multiProcess: true,
      run: (context) => runRaw(context),
    },
    {
      id: BOARD_ID,
      description: `dispatcher + ${FLEET16_WORKERS} worker processes running board.work, lease ${FLEET16_LEASE_MS} ms, heartbeats every ${FLEET16_HEARTBEAT_EVERY_MS} ms, ${SYNC}; aggregate cycles per second`,
      kind: 'kanban-db',
      multiProcess: true,
      run: (context) => runBoard(context),
    },
  ]
}

/** A contender's figure in one repetition; undefined when it was not measured. */
function figure(r: ReadonlyMap<string, Figures>, id: string, name: string): number | undefined {
  const value = r.get(id)?.[name]
  return value === undefined || Number.isNaN(value) ? undefined : value
}

/** The goals of issue 18 item 1 on these two contenders (C2-C4 at 4 processes are the fleet's own). */
export function fleet16Goals(): Goal[] {
  return [
    {
      id: 'S1', measure: `${FLEET16_WORKERS} board.work processes, aggregate cycles/s / ${FLEET16_WORKERS} raw processes of the board's statements on SQLite's busy handler`,
      goal: '>= 1.0x', unit: 'x', holds: (v) => v >= 1.0,
      value: (r) => {
        const top = figure(r, BOARD_ID, 'perSecond')
        const bottom = figure(r, RAW_ID, 'perSecond')
        return top === undefined || bottom === undefined || bottom === 0 ? undefined : top / bottom
      },
    },
    {
      id: 'S2 p99', measure: `claim wait p99, ${FLEET16_WORKERS} board.work processes`,
      goal: '<= 250 ms', unit: 'ms', holds: (v) => v <= 250,
      value: (r) => figure(r, BOARD_ID, 'claimP99Ms'),
    },
    {
      id: 'S2 max', measure: `claim wait max, ${FLEET16_WORKERS} board.work processes`,
      goal: '<= 1000 ms', unit: 'ms', holds: (v) => v <= 1000,
      value: (r) => figure(r, BOARD_ID, 'claimMaxMs'),
    },
    {
      id: 'S3', measure: `leases lost (${FLEET16_LEASE_MS} ms lease, heartbeats every ${FLEET16_HEARTBEAT_EVERY_MS} ms), ${FLEET16_WORKERS} board.work processes (all repetitions)`,
      goal: '0', unit: 'count', holds: (v) => v === 0, decidedBy: 'worst',
      value: (r) => figure(r, BOARD_ID, 'leasesLost'),
    },
  ]
}

/**
 * How fair the S1 yardstick is: the raw fleet's own claim waits (INFO lines, never judged). SQLite's
 * busy handler lets the process that just committed take the lock again while the others sleep,
 * so the raw fleet's throughput comes with waits S2 does not allow the board.
 */
export function fleet16Ceilings(): Ceiling[] {
  const raw = (r: ReadonlyMap<string, Figures>, name: string): number | undefined => figure(r, RAW_ID, name)
  const yardstick = `${RAW_ID}, S1's yardstick (${FLEET16_WORKERS} raw processes on SQLite's busy handler)`
  return [
    {
      id: 'S1 yardstick claim p99', ceiling: true, unit: 'ms', measure: `claim wait p99 of ${yardstick}`,
      goal: "above S2's 250 ms: the yardstick's throughput comes with waits S2 refuses the board", value: (r) => raw(r, 'claimP99Ms'),
    },
    {
      id: 'S1 yardstick claim max', ceiling: true, unit: 'ms', measure: `claim wait max of ${yardstick}`,
      goal: "above S2's 1,000 ms: the same, as the longest wait", value: (r) => raw(r, 'claimMaxMs'),
    },
    {
      id: 'S1 yardstick share', ceiling: true, unit: '%', measure: `smallest worker share in any 1 s window of ${yardstick}`,
      goal: '0 %: some raw process completed nothing for a whole second while the others worked', value: (r) => raw(r, 'minWindowSharePct'),
    },
  ]
}

function leaseMs(context: RunContext): number {
  return context.options.smoke ? 30_000 : FLEET16_LEASE_MS
}

async function runRaw(context: RunContext): Promise<RunResult> {
  const path = join(context.dir, 'raw-board.db')
  const { db: setup, pragmas, drift } = await createRawBoard(path, SYNC)
  const children: ChildProcess[] = []
  try {
    // Never run dry: sized from this contender's own rate in an earlier repetition, else 10,000/s.
    rawBoardLoop(setup, 'setup').refill(backlogFor(context, RAW_ID))
    const inits = Array.from({ length: FLEET16_WORKERS }, (_, i): FleetInit => ({
      type: 'init', role: 'worker', mode: 'raw', rawRows: 'board', boardPragmas: pragmas, chained: true, path, adapterModule: adapterModuleName(),
      synchronous: SYNC, workerId: `raw16-${i}`, leaseMs: leaseMs(context), heartbeatEveryMs: FLEET16_HEARTBEAT_EVERY_MS, readyBacklog: 0,
    }))
    const reports = await runChildren(children, inits, context.durationMs, () => {})
    const workers = reports.filter((r): r is WorkerReport => r.role === 'worker')
    const result = summarise(workers, undefined, context.durationMs)
    const completed = workers.reduce((n, w) => n + w.cycles + w.heldCompleted, 0)
    return { ...result, failures: [...drift, ...result.failures, ...verifyRawBoard(setup, completed, RAW_ID)] }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    setup.close()
  }
}

async function runBoard(context: RunContext): Promise<RunResult> {
  const path = join(context.dir, 'board.db')
  const board = await openBenchBoard(path, SYNC)
  if (typeof (board as unknown as Record<string, unknown>)['work'] !== 'function') {
    await board.close()
    throw new NotMeasured('the Board has no work yet')
  }
  const children: ChildProcess[] = []
  try {
    await fillBoard(board, readyBacklog(context))
    const base = {
      type: 'init', mode: 'board', chained: false, loop: 'work', path, adapterModule: adapterModuleName(), synchronous: SYNC,
      leaseMs: leaseMs(context), heartbeatEveryMs: FLEET16_HEARTBEAT_EVERY_MS, readyBacklog: readyBacklog(context),
    } as const
    const inits: FleetInit[] = [
      { ...base, role: 'dispatcher', workerId: 'dispatcher' },
      ...Array.from({ length: FLEET16_WORKERS }, (_, i): FleetInit => ({ ...base, role: 'worker', workerId: `worker16-${i}` })),
    ]
    const reports = await runChildren(children, inits, context.durationMs, () => {})
    const workers = reports.filter((r): r is WorkerReport => r.role === 'worker')
    const dispatcher = reports.find((r): r is DispatcherReport => r.role === 'dispatcher')
    const result = summarise(workers, dispatcher, context.durationMs)
    const completed = workers.reduce((n, w) => n + w.cycles + w.heldCompleted, 0)
    const failures = [...result.failures, ...(await verifyCompletions(board, completed))]
    const notes = [...(result.notes ?? []), `lease ${leaseMs(context)} ms, heartbeats every ${FLEET16_HEARTBEAT_EVERY_MS} ms`]
    if (dispatcher) notes.push(`the dispatcher created ${dispatcher.created} tasks during the run`)
    return { ...result, failures, notes }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
    await board.close()
  }
}

/** A worker's or the dispatcher's failure that says a lease ran out while its worker still held it. */
const LEASE_LOST = /lease lost|lost its claim|CLAIM_MISMATCH|handed \d+ tasks to the handler and completed/

/**
 * Throughput, claim waits, fairness, Busy and leases lost. Leases lost (claims the dispatcher took
 * back, claims board.work lost, heartbeats refused) are the S3 figure; a task claimed by two workers
 * is expected once per lease lost (the task was redone), and fails the run only beyond that.
 */
function summarise(workers: readonly WorkerReport[], dispatcher: DispatcherReport | undefined, durationMs: number): RunResult {
  const failures: string[] = []
  let lostInWorkers = 0
  for (const w of workers) {
    for (const failure of w.failures) {
      if (LEASE_LOST.test(failure)) lostInWorkers++
      else failures.push(`${w.workerId}: ${failure}`)
    }
  }
  if (dispatcher) failures.push(...dispatcher.failures.map((f) => `dispatcher: ${f}`))
  const released = dispatcher?.releasedIds.length ?? 0
  const leasesLost = Math.max(released, lostInWorkers)
  const ids = new Set<string>()
  const tokens = new Set<string>()
  let claimedTwice = 0
  for (const w of workers) {
    for (const id of w.claimedIds) {
      if (ids.has(id)) claimedTwice++
      ids.add(id)
    }
    for (const token of w.claimTokens) {
      if (tokens.has(token)) failures.push(`claim token ${token} handed out twice`)
      tokens.add(token)
    }
  }
  if (claimedTwice > released) failures.push(`${claimedTwice} tasks claimed by two workers, ${released} claims released as expired`)
  const total = workers.reduce((n, w) => n + w.cycles, 0)
  const elapsed = Math.max(...workers.map((w) => w.elapsedMs))
  const windows = Math.max(1, Math.floor(durationMs / 1000))
  let minWindowShare = Infinity
  for (let window = 0; window < windows; window++) {
    const counts = workers.map((w) => w.windows[window] ?? 0)
    const sum = counts.reduce((a, b) => a + b, 0)
    minWindowShare = Math.min(minWindowShare, sum === 0 ? 0 : Math.min(...counts) / sum)
  }
  const claims = workers.flatMap((w) => w.claimLatenciesMs)
  const heartbeats = workers.flatMap((w) => w.heartbeatLatenessMs)
  const figures: Figures = {
    perSecond: (total * 1000) / elapsed,
    claimP99Ms: percentile(claims, 99),
    claimMaxMs: maximum(claims),
    minWindowSharePct: 100 * minWindowShare,
    busy: workers.reduce((n, w) => n + w.busy, 0) + (dispatcher?.busy ?? 0),
    workerCpuUsPerCycle: total === 0 ? NaN : (1000 * workers.reduce((n, w) => n + w.cpuMs, 0)) / total,
  }
  if (dispatcher) figures['leasesLost'] = leasesLost
  if (heartbeats.length > 0) figures['heartbeatMaxMs'] = maximum(heartbeats)
  const notes = workers.some((w) => w.empty > 0) ? ['workers found no ready task (backlog ran dry; throughput understated)'] : []
  return { figures, failures: failures.slice(0, 10), notes, samples: { claimLatencyMs: claims, heartbeatLatenessMs: heartbeats } }
}

import type { Figures } from './contender.ts'
import { fleet16Ceilings, fleet16Goals } from './scenarios/fleet16.ts'

/** The figures of every contender in one repetition, by contender id. */
export type Repetition = ReadonlyMap<string, Figures>

/** What a goal and a ceiling have in common: a named value per repetition. */
export interface GoalLine {
  /** `G1`, `G4 heartbeat max`, `C1 FULL`, `C5 ceiling`, ... */
  readonly id: string
  /** What is measured, in words. */
  readonly measure: string
  /** The goal as the issue states it; for a ceiling, how to read its value. */
  readonly goal: string
  /** How the value prints: a ratio (`x`), milliseconds, a percentage or a count. */
  readonly unit: 'x' | 'ms' | '%' | 'count'
  /** The value in one repetition, or undefined when a contender it needs was not measured. */
  value(repetition: Repetition): number | undefined
  /** Set on a ceiling, absent on a goal. */
  readonly ceiling?: true
}

/** One goal of issue 7 (G1-G8) or issue 11 (C1-C5), exactly as the issue states it. */
export interface Goal extends GoalLine {
  readonly ceiling?: undefined
  /** Whether a value meets the goal. */
  holds(value: number): boolean
  /**
   * Which repetition value decides: the median, or for "zero ever" goals the worst one.
   * Default median.
   */
  readonly decidedBy?: 'median' | 'worst'
}

/**
 * A reference line printed beside the goals, never judged and never counted as one (verdict
 * `INFO`): how a goal's own baseline compares with a stronger raw baseline of the same run, so a
 * goal that SQLite itself cannot reach on this machine reads as such. On this machine fsync is
 * fast and CPU is the bound, which the goals C1 and C5 (written for an fsync-bound disk) do not
 * show by themselves.
 */
export interface Ceiling extends GoalLine {
  readonly ceiling: true
}

const figure = (repetition: Repetition, contender: string, name: string): number | undefined => {
  const value = repetition.get(contender)?.[name]
  return value === undefined || Number.isNaN(value) ? undefined : value
}

/** The mean of a figure over the contenders of `ids` that measured it in this repetition (undefined: none did). */
const meanOf = (repetition: Repetition, ids: readonly string[], name: string): number | undefined => {
  const values = ids.map((id) => figure(repetition, id, name)).filter((v): v is number => v !== undefined)
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length
}

/** `top`'s figure over the mean of the baselines' (W1: the hand-written fleets just before and after). */
const ratioToMean = (repetition: Repetition, top: string, baselines: readonly string[], name: string): number | undefined => {
  const a = figure(repetition, top, name)
  const b = meanOf(repetition, baselines, name)
  return a === undefined || b === undefined || b === 0 ? undefined : a / b
}

const ratio = (repetition: Repetition, a: [string, string], b: [string, string]): number | undefined => {
  const top = figure(repetition, ...a)
  const bottom = figure(repetition, ...b)
  return top === undefined || bottom === undefined || bottom === 0 ? undefined : top / bottom
}

/** The lease the fleet scenario's workers hold (G4: heartbeat max <= lease/4). */
export const FLEET_LEASE_MS = 2000
/** How often fleet workers heartbeat their held task. */
export const FLEET_HEARTBEAT_EVERY_MS = 250
/** G8: the WAL peak counts as bounded while it stays within this many times the configured limit. */
export const WAL_BOUND_FACTOR = 2

/** Every goal the bench prints, in the issues' order, followed by the ceilings. */
export function goals(): (Goal | Ceiling)[] {
  const list: (Goal | Ceiling)[] = [
    {
      id: 'G1 vs raw', measure: 'board claim+complete/s, 1 process, NORMAL / raw-claim NORMAL',
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, ['board-claim/NORMAL', 'perSecond'], ['raw-claim/NORMAL', 'perSecond']),
    },
    {
      id: 'G1 vs plainjob', measure: 'board claim+complete/s, 1 process, NORMAL / plainjob',
      goal: '>= 1.0x', unit: 'x', holds: (v) => v >= 1.0,
      value: (r) => ratio(r, ['board-claim/NORMAL', 'perSecond'], ['plainjob', 'perSecond']),
    },
    {
      id: 'G2', measure: 'dispatcher + 4 board.work workers, aggregate claim+complete/s / 1-process board figure (NORMAL)',
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, ['fleet/NORMAL', 'perSecond'], ['board-claim/NORMAL', 'perSecond']),
    },
    {
      id: 'G3', measure: 'smallest worker share of claims over the run (NORMAL fleet)',
      goal: '>= 15 %', unit: '%', holds: (v) => v >= 15,
      value: (r) => figure(r, 'fleet/NORMAL', 'minSharePct'),
    },
    {
      id: 'G4 claim p99', measure: 'claim wait p99 over the 4 workers (NORMAL fleet: a handler\'s return to the next handler\'s start)',
      goal: '<= 20 ms', unit: 'ms', holds: (v) => v <= 20,
      value: (r) => figure(r, 'fleet/NORMAL', 'claimP99Ms'),
    },
    {
      id: 'G4 heartbeat p99', measure: 'heartbeat lateness p99 (from its due time) while claims saturate',
      goal: '<= 50 ms', unit: 'ms', holds: (v) => v <= 50,
      value: (r) => figure(r, 'fleet/NORMAL', 'heartbeatP99Ms'),
    },
    {
      id: 'G4 heartbeat max', measure: 'heartbeat lateness max while claims saturate',
      goal: `<= lease/4 = ${FLEET_LEASE_MS / 4} ms`, unit: 'ms', holds: (v) => v <= FLEET_LEASE_MS / 4,
      value: (r) => figure(r, 'fleet/NORMAL', 'heartbeatMaxMs'),
    },
    {
      id: 'G4 BUSY', measure: 'SQLITE_BUSY (Busy errors) reaching callers, NORMAL fleet',
      goal: '0', unit: 'count', holds: (v) => v === 0, decidedBy: 'worst',
      value: (r) => figure(r, 'fleet/NORMAL', 'busy'),
    },
    {
      id: 'G5', measure: 'board write operations/s, FULL, one commit each (claimNext, complete) / sync',
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, ['board-ops/FULL', 'opsPerSecond'], ['sync', 'perSecond']),
    },
    {
      id: 'G5b', measure: 'tasks/s created (createTasks) + claimed + completed, FULL, batched / sync',
      goal: '>= 5x', unit: 'x', holds: (v) => v >= 5,
      value: (r) => ratio(r, ['board-batched/FULL', 'tasksPerSecond'], ['sync', 'perSecond']),
    },
  ]
  for (const sync of ['NORMAL', 'FULL'] as const) {
    list.push({
      id: `G6 ${sync}`, measure: `createTasks rows/s (100 per call) / raw-tx100 ${sync}`,
      goal: '>= 0.7x', unit: 'x', holds: (v) => v >= 0.7,
      value: (r) => ratio(r, [`board-bulk/${sync}`, 'perSecond'], [`raw-tx100/${sync}`, 'perSecond']),
    })
  }
  list.push(
    {
      id: 'G7', measure: 'openBoard on an existing board, p50 / raw-open p50',
      goal: '<= 3x', unit: 'x', holds: (v) => v <= 3,
      value: (r) => ratio(r, ['board-open', 'p50Ms'], ['raw-open', 'p50Ms']),
    },
    {
      id: 'G8', measure: 'WAL peak (sampled every 100 ms during G2, dashboard polling events each second) / configured limit',
      goal: `bounded (<= ${WAL_BOUND_FACTOR}x the limit)`, unit: 'x', holds: (v) => v <= WAL_BOUND_FACTOR,
      value: (r) => ratio(r, ['fleet/NORMAL', 'walPeakBytes'], ['fleet/NORMAL', 'walLimitBytes']),
    },
  )
  for (const sync of ['FULL', 'NORMAL'] as const) {
    const fleet = `fleet/${sync}`
    list.push(
      {
        id: `C1 ${sync}`, measure: `4 board.work processes, aggregate claim+complete/s / one raw process (raw-claim ${sync})`,
        goal: '>= 1.0x', unit: 'x', holds: (v) => v >= 1.0,
        value: (r) => ratio(r, [fleet, 'perSecond'], [`raw-claim/${sync}`, 'perSecond']),
      },
      {
        id: `C2 ${sync}`, measure: 'smallest worker share in any 1 s window',
        goal: '>= 15 %', unit: '%', holds: (v) => v >= 15,
        value: (r) => figure(r, fleet, 'minWindowSharePct'),
      },
      {
        id: `C3 ${sync} p99`, measure: 'claim wait p99',
        goal: '<= 20 ms', unit: 'ms', holds: (v) => v <= 20,
        value: (r) => figure(r, fleet, 'claimP99Ms'),
      },
      {
        id: `C3 ${sync} max`, measure: 'claim wait max',
        goal: '<= 250 ms', unit: 'ms', holds: (v) => v <= 250,
        value: (r) => figure(r, fleet, 'claimMaxMs'),
      },
      {
        id: `C4 ${sync}`, measure: 'Busy errors reaching callers, 4 processes (all repetitions; the issue asks for 60 s)',
        goal: '0', unit: 'count', holds: (v) => v === 0, decidedBy: 'worst',
        value: (r) => figure(r, fleet, 'busy'),
      },
    )
  }
  list.push({
    id: 'C5', measure: 'claim+complete cycles/s, 1 process, 8 concurrent async callers, FULL / osync',
    goal: '>= 1.0x', unit: 'x', holds: (v) => v >= 1.0,
    value: (r) => ratio(r, ['board-callers8/FULL', 'perSecond'], ['osync', 'perSecond']),
  })
  list.push(...machineryGoals())
  list.push(...fleet16Goals())
  list.push(...postgresGoals())
  list.push(...workerGoals())
  list.push(...ceilings())
  return list
}

/**
 * Issue 22's goals (M1-M5): kanban-db's machinery against the board's own statements run raw
 * (`raw-board*`, the same rows), each a ratio within one repetition. They read whichever adapter
 * the boards ran through (`--adapter`); the raw baselines are always better-sqlite3.
 */
export function machineryGoals(): Goal[] {
  const list: Goal[] = []
  for (const sync of ['FULL', 'NORMAL'] as const) {
    const fleet = `fleet/${sync}`
    list.push(
      {
        id: `M1 ${sync}`, measure: `dispatcher + 4 board.work processes, aggregate cycles/s / raw-board-fleet/${sync} (4 raw processes, the board's rows, busy handler)`,
        goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
        value: (r) => ratio(r, [fleet, 'perSecond'], [`raw-board-fleet/${sync}`, 'perSecond']),
      },
      {
        id: `M1 ${sync} C2-C4`, measure: `C2, C3 p99, C3 max and C4 lines that fail in the same fleet (${fleet}) of the repetition`,
        goal: '0', unit: 'count', holds: (v) => v === 0,
        value: (r) => fairnessFailures(r, fleet),
      },
    )
  }
  list.push(
    {
      id: 'M2', measure: "board-callers8/FULL cycles/s / raw-board-batched/FULL (the board's statements raw, 8 cycles per commit)",
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, ['board-callers8/FULL', 'perSecond'], ['raw-board-batched/FULL', 'perSecond']),
    },
    {
      id: 'M3 NORMAL', measure: "board-claim/NORMAL cycles/s / raw-board/NORMAL (the board's statements raw, 1 process, 1 commit per operation)",
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, ['board-claim/NORMAL', 'perSecond'], ['raw-board/NORMAL', 'perSecond']),
    },
    {
      id: 'M3 FULL', measure: 'board-ops/FULL cycles/s / raw-board/FULL',
      goal: '>= 0.9x', unit: 'x', holds: (v) => v >= 0.9,
      value: (r) => ratio(r, ['board-ops/FULL', 'perSecond'], ['raw-board/FULL', 'perSecond']),
    },
  )
  for (const sync of ['NORMAL', 'FULL'] as const) {
    list.push({
      id: `M4 ${sync}`, measure: `createTasks rows/s (100 per call) / raw-board-bulk/${sync} (the same task and event rows, multi-row INSERTs, 100 per transaction)`,
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, [`board-bulk/${sync}`, 'perSecond'], [`raw-board-bulk/${sync}`, 'perSecond']),
    })
  }
  list.push({
    id: 'M5', measure: 'board-claim/NORMAL cycles/s / plainjob (which writes no runs and no events)',
    goal: '>= 1.0x', unit: 'x', holds: (v) => v >= 1.0,
    value: (r) => ratio(r, ['board-claim/NORMAL', 'perSecond'], ['plainjob', 'perSecond']),
  })
  return list
}

/** How many of C2, C3 p99, C3 max and C4 fail in `fleet` in this repetition (undefined: not run). */
function fairnessFailures(repetition: Repetition, fleet: string): number | undefined {
  const share = figure(repetition, fleet, 'minWindowSharePct')
  const p99 = figure(repetition, fleet, 'claimP99Ms')
  const max = figure(repetition, fleet, 'claimMaxMs')
  const busy = figure(repetition, fleet, 'busy')
  if (share === undefined && p99 === undefined && max === undefined && busy === undefined) return undefined
  return [share === undefined || share < 15, p99 === undefined || p99 > 20, max === undefined || max > 250, busy === undefined || busy !== 0].filter(Boolean).length
}

/** W1: `board.work`'s throughput against the hand-written chained loop of the same fleet. */
export const WORK_THROUGHPUT_RATIO = 0.95
/** W2 on SQLite, ms (Postgres: P3's). */
export const SQLITE_WAKE_P50_MS = 10
export const SQLITE_WAKE_P99_MS = 50
/** W3, ms. */
export const LOCAL_START_P50_MS = 1
/** W4: % of one core. */
export const IDLE_CPU_PCT = 2

/**
 * The worker runtime's goals (issue 17: W1-W4), on SQLite and on Postgres. W1 divides each
 * `board.work` fleet by the hand-written chained loop's fleet (`fleet-hand`, `pg-fleet-hand`)
 * measured just before it in the same repetition. W2 on Postgres reads `pg-wake-latency`, P3's
 * scenario (now run by board.work), with P3's targets.
 */
export function workerGoals(): Goal[] {
  const list: Goal[] = []
  for (const sync of ['NORMAL', 'FULL'] as const) {
    list.push({
      id: `W1 ${sync}`, measure: `board.work fleet / the hand-written completeAndClaimNext fleets just before and after it (mean; dispatcher + 4 processes, ${sync}), cycles/s`,
      goal: `>= ${WORK_THROUGHPUT_RATIO}x`, unit: 'x', holds: (v) => v >= WORK_THROUGHPUT_RATIO,
      value: (r) => ratioToMean(r, `fleet/${sync}`, [`fleet-hand/${sync}`, `fleet-hand-after/${sync}`], 'perSecond'),
    })
  }
  list.push(
    {
      id: 'W1 Postgres', measure: 'board.work fleet / the hand-written completeAndClaimNext fleets just before and after it (mean; 4 processes x 8), tasks/s',
      goal: `>= ${WORK_THROUGHPUT_RATIO}x`, unit: 'x', holds: (v) => v >= WORK_THROUGHPUT_RATIO,
      value: (r) => ratioToMean(r, 'pg-fleet', ['pg-fleet-hand', 'pg-fleet-hand-after'], 'perSecond'),
    },
    {
      id: 'W2 SQLite p50', measure: 'createTask in one process to the handler of an idle board.work (8 slots) in another, p50 (the default wake-up; tasks 5-15 ms apart, as P3)',
      goal: `<= ${SQLITE_WAKE_P50_MS} ms`, unit: 'ms', holds: (v) => v <= SQLITE_WAKE_P50_MS,
      value: (r) => figure(r, 'work-wake', 'p50Ms'),
    },
    {
      id: 'W2 SQLite p99', measure: 'the same, p99',
      goal: `<= ${SQLITE_WAKE_P99_MS} ms`, unit: 'ms', holds: (v) => v <= SQLITE_WAKE_P99_MS,
      value: (r) => figure(r, 'work-wake', 'p99Ms'),
    },
    {
      id: 'W2 SQLite cold p50', measure: 'the same for a task created after 2.3 s without one (the worker idle past the watch\'s 2 s fast phase), p50',
      goal: `<= ${SQLITE_WAKE_P50_MS} ms`, unit: 'ms', holds: (v) => v <= SQLITE_WAKE_P50_MS,
      value: (r) => figure(r, 'work-wake', 'coldP50Ms'),
    },
    {
      id: 'W2 SQLite cold p99', measure: 'the same, p99 (12 samples a repetition: their largest)',
      goal: `<= ${SQLITE_WAKE_P99_MS} ms`, unit: 'ms', holds: (v) => v <= SQLITE_WAKE_P99_MS,
      value: (r) => figure(r, 'work-wake', 'coldP99Ms'),
    },
    {
      id: 'W2 Postgres p50', measure: 'Postgres: createTask in one process to the handler of an idle board.work (8 slots) in another, p50 (P3\'s scenario)',
      goal: `<= ${PG_WAKE_P50_MS} ms`, unit: 'ms', holds: (v) => v <= PG_WAKE_P50_MS,
      value: (r) => figure(r, 'pg-wake-latency', 'p50Ms'),
    },
    {
      id: 'W2 Postgres p99', measure: 'the same, p99',
      goal: `<= ${PG_WAKE_P99_MS} ms`, unit: 'ms', holds: (v) => v <= PG_WAKE_P99_MS,
      value: (r) => figure(r, 'pg-wake-latency', 'p99Ms'),
    },
    {
      id: 'W3 SQLite', measure: 'createTask to the handler of an idle board.work in the same process, p50 (default policy, FULL)',
      goal: `<= ${LOCAL_START_P50_MS} ms`, unit: 'ms', holds: (v) => v <= LOCAL_START_P50_MS,
      value: (r) => figure(r, 'work-local/FULL', 'p50Ms'),
    },
    {
      id: 'W3 Postgres', measure: 'Postgres: createTask to the handler of an idle board.work in the same process, p50',
      goal: `<= ${LOCAL_START_P50_MS} ms`, unit: 'ms', holds: (v) => v <= LOCAL_START_P50_MS,
      value: (r) => figure(r, 'pg-work-local', 'p50Ms'),
    },
    {
      id: 'W4 SQLite', measure: 'CPU of an idle board.work process (8 slots, the default wake-up) over 10 s, % of one core',
      goal: `< ${IDLE_CPU_PCT} %`, unit: '%', holds: (v) => v < IDLE_CPU_PCT,
      value: (r) => figure(r, 'work-wake', 'idleCpuPct'),
    },
    {
      id: 'W4 Postgres', measure: 'Postgres: CPU of an idle board.work process (8 slots, LISTEN) over 10 s, % of one core',
      goal: `< ${IDLE_CPU_PCT} %`, unit: '%', holds: (v) => v < IDLE_CPU_PCT,
      value: (r) => figure(r, 'pg-wake-latency', 'idleCpuPct'),
    },
  )
  return list
}

/** P3's goals on the wake-up latency, in ms. */
export const PG_WAKE_P50_MS = 5
export const PG_WAKE_P99_MS = 25
/** P5: work must resume within this long after the restart. */
export const PG_RESUME_MS = 5000

/**
 * The PostgreSQL goals (P1-P5), each on contenders measured in the same repetition on the same
 * server (pg-*.ts under src/postgres). Zero-count goals are decided by the worst repetition, as are
 * P5's (one lost acknowledgement or one slow resume in any restart is the answer).
 */
export function postgresGoals(): Goal[] {
  return [
    {
      id: 'P1', measure: "Postgres, 1 process: board claim+complete/s / raw node-postgres loop running the board's own statements (pg-raw-board)",
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, ['pg-board', 'perSecond'], ['pg-raw-board', 'perSecond']),
    },
    {
      id: 'P2', measure: 'Postgres, 4 processes x board.work with 8 slots: board tasks/s (completeAndClaimNext chained, the board\'s rows) / graphile-worker defaults, no-op jobs',
      goal: '>= 1.0x', unit: 'x', holds: (v) => v >= 1.0,
      value: (r) => ratio(r, ['pg-fleet', 'perSecond'], ['pg-graphile-fleet', 'perSecond']),
    },
    {
      id: 'P3 p50', measure: 'Postgres: createTask in one process to the handler of an idle board.work (8 slots, LISTEN/NOTIFY) in another, p50',
      goal: `<= ${PG_WAKE_P50_MS} ms`, unit: 'ms', holds: (v) => v <= PG_WAKE_P50_MS,
      value: (r) => figure(r, 'pg-wake-latency', 'p50Ms'),
    },
    {
      id: 'P3 p99', measure: 'the same, p99',
      goal: `<= ${PG_WAKE_P99_MS} ms`, unit: 'ms', holds: (v) => v <= PG_WAKE_P99_MS,
      value: (r) => figure(r, 'pg-wake-latency', 'p99Ms'),
    },
    {
      id: 'P4 double claims', measure: 'the P2 fleet: tasks claimed or completed twice, claim tokens handed out twice (all repetitions)',
      goal: '0', unit: 'count', holds: (v) => v === 0, decidedBy: 'worst',
      value: (r) => figure(r, 'pg-fleet', 'doubleClaims'),
    },
    {
      id: 'P4 lost tasks', measure: 'the P2 fleet: acknowledged but not done, done but never acknowledged, left running (all repetitions)',
      goal: '0', unit: 'count', holds: (v) => v === 0, decidedBy: 'worst',
      value: (r) => figure(r, 'pg-fleet', 'lostTasks'),
    },
    {
      id: 'P4 errors', measure: 'the P2 fleet: errors a board call threw to a worker loop (all repetitions)',
      goal: '0', unit: 'count', holds: (v) => v === 0, decidedBy: 'worst',
      value: (r) => figure(r, 'pg-fleet', 'errors'),
    },
    {
      id: 'P4 share', measure: 'the P2 fleet: smallest process share of completions in any 1 s window',
      goal: '>= 15 %', unit: '%', holds: (v) => v >= 15,
      value: (r) => figure(r, 'pg-fleet', 'minWindowSharePct'),
    },
    {
      id: 'P5 lost acks', measure: 'server restarted mid-run: completions acknowledged to a worker and not done afterwards (all repetitions)',
      goal: '0', unit: 'count', holds: (v) => v === 0, decidedBy: 'worst',
      value: (r) => figure(r, 'pg-restart', 'lostAcks'),
    },
    {
      id: 'P5 resume', measure: 'server restarted mid-run: longest stretch without an acknowledged completion (worst repetition)',
      goal: `<= ${PG_RESUME_MS / 1000} s`, unit: 'ms', holds: (v) => v <= PG_RESUME_MS, decidedBy: 'worst',
      value: (r) => figure(r, 'pg-restart', 'resumeGapMs'),
    },
  ]
}

/**
 * The ceilings printed after the goals: G5, C5 and C1 against what raw SQLite reaches in the same run
 * (and P2 against raw node-postgres running the board's statements),
 * first with raw loops that write the tasks table alone, then with raw loops that write the board's
 * own rows (run rows, events: `raw-board*`), which any implementation of the board must write.
 */
export function ceilings(): Ceiling[] {
  const ceiling = (id: string, measure: string, goal: string, top: string, bottom: string): Ceiling => ({
    id, ceiling: true, measure, goal, unit: 'x',
    value: (r) => ratio(r, [top, 'perSecond'], [bottom, 'perSecond']),
  })
  return [
    ceiling(
      'G5 vs raw-board', "board-ops/FULL cycles/s / raw-board/FULL cycles/s (the board's statements raw, 1 process, 1 commit per operation)",
      "share of what the board's own statements reach raw, one caller", 'board-ops/FULL', 'raw-board/FULL',
    ),
    ceiling(
      'M5 ceiling, board rows', "raw-board/NORMAL cycles/s (the board's statements raw) / plainjob",
      "below 1.0x: no implementation writing the board's rows (runs, events) one commit per operation holds M5 here", 'raw-board/NORMAL', 'plainjob',
    ),
    ceiling(
      'C5 ceiling', 'raw-batched/FULL cycles/s (raw claim+complete, 8 cycles per commit) / osync',
      'below 1.0x: C5 is out of reach for raw SQLite', 'raw-batched/FULL', 'osync',
    ),
    ceiling(
      'C5 ceiling, board rows', "raw-board-batched/FULL cycles/s (the board's statements raw, 8 cycles per commit) / osync",
      "below 1.0x: no implementation writing the board's rows holds C5 here", 'raw-board-batched/FULL', 'osync',
    ),
    ceiling(
      'M2 ceiling, claims committed first',
      "raw-board-batched-claims-first/FULL (8 claims in one commit, then their completions in the next) / raw-board-batched/FULL",
      "below 0.8x: M2 is out of reach for callers that claim and complete in separate calls (board-callers8)", 'raw-board-batched-claims-first/FULL', 'raw-board-batched/FULL',
    ),
    ceiling(
      'C5 vs raw-batched', 'board-callers8/FULL cycles/s / raw-batched/FULL',
      'share of the raw ceiling C5 reaches', 'board-callers8/FULL', 'raw-batched/FULL',
    ),
    ceiling(
      'C5 vs raw-board-batched', 'board-callers8/FULL cycles/s / raw-board-batched/FULL',
      "share of what the board's own statements reach raw", 'board-callers8/FULL', 'raw-board-batched/FULL',
    ),
    ceiling(
      'C1 vs raw-fleet', 'fleet/FULL aggregate cycles/s / raw-fleet/FULL (4 raw processes, busy handler)',
      '1.0x: as fast as SQLite left alone', 'fleet/FULL', 'raw-fleet/FULL',
    ),
    ...(['FULL', 'NORMAL'] as const).map((sync) =>
      ceiling(
        `C1 ceiling, board rows ${sync}`, `raw-board-fleet/${sync} (4 processes, the board's statements raw, busy handler) / raw-claim/${sync}`,
        "below 1.0x: C1 is out of reach writing the board's rows, 2 commits per cycle", `raw-board-fleet/${sync}`, `raw-claim/${sync}`,
      ),
    ),
    ceiling(
      'C1 chained ceiling, board rows', 'raw-board-fleet-chained/FULL (the same, complete + claim next in one commit) / raw-claim/FULL',
      "below 1.0x: C1 is out of reach writing the board's rows, 1 commit per cycle", 'raw-board-fleet-chained/FULL', 'raw-claim/FULL',
    ),
    ...(['FULL', 'NORMAL'] as const).flatMap((sync): Ceiling[] => [
      {
        id: `M1 yardstick C2 ${sync}`, ceiling: true, unit: '%',
        measure: `smallest worker share in any 1 s window of raw-board-fleet/${sync}, M1's yardstick (4 raw processes on SQLite's busy handler)`,
        goal: "below C2's 15 %: the yardstick's throughput comes from starving workers, which M1 forbids the board in the same fleet",
        value: (r) => figure(r, `raw-board-fleet/${sync}`, 'minWindowSharePct'),
      },
      {
        id: `M1 yardstick C3 max ${sync}`, ceiling: true, unit: 'ms',
        measure: `claim wait max of raw-board-fleet/${sync}, M1's yardstick`,
        goal: "above C3's 250 ms: the same, as the longest wait one raw worker had",
        value: (r) => figure(r, `raw-board-fleet/${sync}`, 'claimMaxMs'),
      },
    ]),
    ...fleet16Ceilings(),
    ceiling(
      'C1 vs raw-board-fleet', 'fleet/FULL aggregate cycles/s / raw-board-fleet/FULL',
      "share of what 4 processes writing the board's rows reach raw", 'fleet/FULL', 'raw-board-fleet/FULL',
    ),
    ceiling(
      'C1 hand', 'fleet-hand/FULL (the hand-written completeAndClaimNext loop, W1\'s baseline) / raw-claim/FULL',
      "C1's ratio for the hand-written loop board.work replaced", 'fleet-hand/FULL', 'raw-claim/FULL',
    ),
    {
      id: 'W3 SQLite NORMAL', ceiling: true, unit: 'ms',
      measure: 'W3 under synchronous=NORMAL (work-local/NORMAL): the same two commits without their fsyncs, p50',
      goal: "what the wake-up path and the statements cost by themselves (W3's goal, 1 ms, is judged on the default FULL)",
      value: (r) => figure(r, 'work-local/NORMAL', 'p50Ms'),
    },
    ...(['NORMAL', 'FULL', 'Postgres'] as const).map((engine): Ceiling => {
      const [work, hands, name] = engine === 'Postgres'
        ? ['pg-fleet', ['pg-fleet-hand', 'pg-fleet-hand-after'], 'clientCpuUsPerTask']
        : [`fleet/${engine}`, [`fleet-hand/${engine}`, `fleet-hand-after/${engine}`], 'workerCpuUsPerCycle']
      return {
        id: `W1 CPU ${engine}`, ceiling: true, unit: 'x',
        measure: `the hand-written fleets' worker CPU per task (mean of before and after) / board.work's (${work}, worker processes only, process.cpuUsage)`,
        goal: "below 1.0x: board.work spends more of the workers' CPU per task (steadier than throughput on a loaded machine)",
        value: (r) => {
          const hand = meanOf(r, hands, name)
          const mine = figure(r, work, name)
          return hand === undefined || mine === undefined || mine === 0 ? undefined : hand / mine
        },
      }
    }),
    ceiling(
      'P2 ceiling, board rows', "pg-raw-board-fleet (4 x 8 raw node-postgres loops, the board's own statements, one commit per task) / pg-graphile-fleet",
      "below 1.0x: no implementation writing the board's rows holds P2 on this server", 'pg-raw-board-fleet', 'pg-graphile-fleet',
    ),
    ceiling(
      'P2 vs pg-raw-board-fleet', 'pg-fleet tasks/s / pg-raw-board-fleet tasks/s',
      "share of what the board's own statements reach raw, 4 x 8", 'pg-fleet', 'pg-raw-board-fleet',
    ),
    ceiling(
      'P2 ceiling, prepared', "pg-raw-board-fleet-prepared (the same raw loops, the board's statements as named prepared statements) / pg-graphile-fleet",
      "how far the board's rows get once each statement is planned once per connection", 'pg-raw-board-fleet-prepared', 'pg-graphile-fleet',
    ),
  ]
}

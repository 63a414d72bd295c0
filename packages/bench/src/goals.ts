import type { Figures } from './contender.ts'

/** The figures of every contender in one repetition, by contender id. */
export type Repetition = ReadonlyMap<string, Figures>

/** One goal of issue 7 (G1-G8) or issue 11 (C1-C5), exactly as the issue states it. */
export interface Goal {
  /** `G1`, `G4 heartbeat max`, `C1 FULL`, ... */
  readonly id: string
  /** What is measured, in words. */
  readonly measure: string
  /** The goal as the issue states it. */
  readonly goal: string
  /** How the value prints: a ratio (`x`), milliseconds, a percentage or a count. */
  readonly unit: 'x' | 'ms' | '%' | 'count'
  /** The value in one repetition, or undefined when a contender it needs was not measured. */
  value(repetition: Repetition): number | undefined
  /** Whether a value meets the goal. */
  holds(value: number): boolean
  /**
   * Which repetition value decides: the median, or for "zero ever" goals the worst one.
   * Default median.
   */
  readonly decidedBy?: 'median' | 'worst'
}

const figure = (repetition: Repetition, contender: string, name: string): number | undefined => {
  const value = repetition.get(contender)?.[name]
  return value === undefined || Number.isNaN(value) ? undefined : value
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

/** Every goal the bench prints, in the issues' order. */
export function goals(): Goal[] {
  const list: Goal[] = [
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
      id: 'G2', measure: 'dispatcher + 4 workers, aggregate claim+complete/s / 1-process board figure (NORMAL)',
      goal: '>= 0.8x', unit: 'x', holds: (v) => v >= 0.8,
      value: (r) => ratio(r, ['fleet/NORMAL', 'perSecond'], ['board-claim/NORMAL', 'perSecond']),
    },
    {
      id: 'G3', measure: 'smallest worker share of claims over the run (NORMAL fleet)',
      goal: '>= 15 %', unit: '%', holds: (v) => v >= 15,
      value: (r) => figure(r, 'fleet/NORMAL', 'minSharePct'),
    },
    {
      id: 'G4 claim p99', measure: 'claimNext latency p99 over the 4 workers (NORMAL fleet)',
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
        id: `C1 ${sync}`, measure: `4 processes, aggregate claim+complete/s / one raw process (raw-claim ${sync})`,
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
  return list
}

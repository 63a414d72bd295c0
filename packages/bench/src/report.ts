import type { Contender, Figures } from './contender.ts'
import type { Environment } from './environment.ts'
import type { Ceiling, Goal, Repetition } from './goals.ts'
import { type Spread, spreadOf } from './stats.ts'

/** The verdict on one goal, or the value of one ceiling (verdict `INFO`, never counted as a goal). */
export interface GoalResult {
  readonly id: string
  readonly measure: string
  readonly goal: string
  readonly unit: Goal['unit']
  readonly spread: Spread | undefined
  readonly verdict: 'HOLDS' | 'DOES NOT HOLD' | 'NOT MEASURED' | 'INFO'
  /** True for a ceiling (printed in its own table), false for a goal. */
  readonly ceiling: boolean
}

/** Judges every goal over the repetitions, and spreads every ceiling's values. */
export function judge(goals: readonly (Goal | Ceiling)[], repetitions: readonly Repetition[]): GoalResult[] {
  return goals.map((goal) => {
    const values = repetitions.map((r) => goal.value(r)).filter((v): v is number => v !== undefined)
    const line = { id: goal.id, measure: goal.measure, goal: goal.goal, unit: goal.unit, ceiling: goal.ceiling === true }
    if (values.length === 0) return { ...line, spread: undefined, verdict: 'NOT MEASURED' }
    const spread = spreadOf(values)
    if (goal.ceiling) return { ...line, spread, verdict: 'INFO' }
    const deciding = goal.decidedBy === 'worst' ? values.find((v) => !goal.holds(v)) ?? spread.median : spread.median
    return { ...line, spread, verdict: goal.holds(deciding) ? 'HOLDS' : 'DOES NOT HOLD' }
  })
}

/** The spread of one figure of one contender over the repetitions that measured it. */
export function figureSpread(repetitions: readonly Repetition[], contender: string, name: string): Spread | undefined {
  const values = repetitions.map((r) => r.get(contender)?.[name]).filter((v): v is number => v !== undefined && !Number.isNaN(v))
  return values.length === 0 ? undefined : spreadOf(values)
}

/** A number for a table: 3 significant digits, thousands grouped. */
export function formatNumber(value: number, unit?: Goal['unit'] | string): string {
  if (!Number.isFinite(value)) return String(value)
  const digits = unit === 'x' ? 2 : Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
  return unit === 'x' ? `${text}x` : unit === '%' ? `${text} %` : unit === 'ms' ? `${text} ms` : text
}

function formatSpread(spread: Spread | undefined, unit?: string): [string, string, string] {
  if (!spread) return ['-', '-', '-']
  return [formatNumber(spread.min, unit), formatNumber(spread.median, unit), formatNumber(spread.max, unit)]
}

/** Lays out rows as aligned columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** Which figures of which contender the table shows, with their units. */
export const shownFigures: Readonly<Record<string, readonly [string, string][]>> = {
  default: [['perSecond', '/s']],
  'raw-open': [['p50Ms', 'ms'], ['p99Ms', 'ms']],
  'board-open': [['p50Ms', 'ms'], ['p99Ms', 'ms']],
  'board-ops/FULL': [['opsPerSecond', '/s'], ['perSecond', 'cycles/s']],
  'raw-batched/FULL': [['perSecond', 'cycles/s'], ['commitsPerSecond', '/s'], ['wallUsPerCycle', 'µs'], ['cpuUsPerCycle', 'µs']],
  'raw-board-batched/FULL': [['perSecond', 'cycles/s'], ['commitsPerSecond', '/s'], ['wallUsPerCycle', 'µs'], ['cpuUsPerCycle', 'µs']],
  'raw-board-batched-claims-first/FULL': [['perSecond', 'cycles/s'], ['commitsPerSecond', '/s'], ['wallUsPerCycle', 'µs'], ['cpuUsPerCycle', 'µs']],
  'board-batched/FULL': [['tasksPerSecond', '/s']],
  'pg-graphile-fleet': [['perSecond', 'jobs/s'], ['minWindowSharePct', '%'], ['serverCpuUsPerTask', 'µs'], ['clientCpuUsPerTask', 'µs'], ['cpuCoresBusy', 'cores']],
  'pg-raw-board-fleet': [['perSecond', 'tasks/s'], ['minWindowSharePct', '%'], ['serverCpuUsPerTask', 'µs'], ['clientCpuUsPerTask', 'µs'], ['cpuCoresBusy', 'cores']],
  ...Object.fromEntries(
    ['fleet', 'fleet-hand', 'fleet-hand-after'].flatMap((name) => ['NORMAL', 'FULL'].map((sync): [string, [string, string][]] => [
      `${name}/${sync}`, [['perSecond', '/s'], ['workerCpuUsPerCycle', 'µs'], ['claimP99Ms', 'ms'], ['heartbeatP99Ms', 'ms']],
    ])),
  ),
  'pg-fleet-hand-after': [['perSecond', 'tasks/s'], ['clientCpuUsPerTask', 'µs']],
  'pg-fleet-hand': [['perSecond', 'tasks/s'], ['minWindowSharePct', '%'], ['serverCpuUsPerTask', 'µs'], ['clientCpuUsPerTask', 'µs'], ['cpuCoresBusy', 'cores']],
  'pg-fleet': [
    ['perSecond', 'tasks/s'], ['minWindowSharePct', '%'], ['doubleClaims', 'count'], ['lostTasks', 'count'], ['errors', 'count'],
    ['serverCpuUsPerTask', 'µs'], ['clientCpuUsPerTask', 'µs'], ['cpuCoresBusy', 'cores'],
  ],
  'pg-raw-board-fleet-prepared': [['perSecond', 'tasks/s'], ['serverCpuUsPerTask', 'µs'], ['clientCpuUsPerTask', 'µs'], ['cpuCoresBusy', 'cores']],
  'pg-wake-latency': [
    ['p50Ms', 'ms'], ['p99Ms', 'ms'], ['maxMs', 'ms'], ['samples', 'count'], ['createP50Ms', 'ms'], ['notifyP50Ms', 'ms'], ['wakeToHandlerP50Ms', 'ms'],
    ['idleCpuPct', '%'], ['serverIdleCpuPct', '%'],
  ],
  'pg-work-local': [['p50Ms', 'ms'], ['p99Ms', 'ms'], ['createP50Ms', 'ms'], ['afterCreateP50Ms', 'ms']],
  'work-local/FULL': [['p50Ms', 'ms'], ['p99Ms', 'ms'], ['createP50Ms', 'ms'], ['afterCreateP50Ms', 'ms']],
  'work-local/NORMAL': [['p50Ms', 'ms'], ['p99Ms', 'ms'], ['createP50Ms', 'ms'], ['afterCreateP50Ms', 'ms']],
  'work-wake': [
    ['p50Ms', 'ms'], ['p99Ms', 'ms'], ['maxMs', 'ms'], ['samples', 'count'], ['notifyP50Ms', 'ms'], ['coldP50Ms', 'ms'], ['coldP99Ms', 'ms'], ['idleCpuPct', '%'],
    ...['dvAdaptive', 'dv5', 'dv10', 'dv25', 'fsWatch', 'fsWatchRecheck', 'fsWatchDv'].flatMap((p): [string, string][] => [
      [`${p}P50Ms`, 'ms'], [`${p}P99Ms`, 'ms'], [`${p}ColdP50Ms`, 'ms'], [`${p}ColdP99Ms`, 'ms'], [`${p}IdleCpuPct`, '%'],
    ]),
    ['pollOnlyIdleCpuPct', '%'], ['noneIdleCpuPct', '%'],
  ],
  'pg-restart': [
    ['lostAcks', 'count'], ['resumeGapMs', 'ms'], ['restartMs', 'ms'], ['connectionLost', 'count'], ['inDoubt', 'count'], ['gaveUp', 'count'], ['perSecond', 'tasks/s'],
  ],
  'design-costs': [
    ['kyselyCompileUs', 'µs'], ['asyncHopUs', 'µs'], ['rawEmptyTxnUs', 'µs'], ['writeTxnEmptyUs', 'µs'],
    ['claimSelectRawUs', 'µs'], ['claimSelectBoardUs', 'µs'], ['rawStatementUs', 'µs'], ['kyselyStatementUs', 'µs'],
    ['savepointUs', 'µs'], ['busyTimeoutSwitchUs', 'µs'], ['dataVersionUs', 'µs'], ['walStatUs', 'µs'],
    ['claimPagesPerCommit', 'pages'], ['completePagesPerCommit', 'pages'],
  ],
}

/** Prints the whole report. */
export function renderReport(input: {
  readonly environment: Environment
  readonly contenders: readonly Contender[]
  readonly repetitions: readonly Repetition[]
  readonly goals: readonly GoalResult[]
  readonly failures: readonly string[]
  readonly notMeasured: ReadonlyMap<string, string>
  readonly notes: readonly string[]
  readonly settings: string
}): string {
  const { environment: env } = input
  const out: string[] = []
  out.push(`kanban-db bench, ${env.date}`)
  out.push(`cpu: ${env.cpu} x ${env.cores}, ${env.memoryGiB} GiB; node ${env.node}; dir ${env.dir} on ${env.filesystem}`)
  out.push(`load average: ${env.load.join(' ')} at the start; 1 min at the end of each repetition: ${env.loadPerRepetition.map((l) => l.toFixed(2)).join(', ') || '-'}`)
  for (const [name, version] of Object.entries(env.drivers)) out.push(`driver: ${name} ${version}`)
  for (const [name, pragmas] of Object.entries(env.pragmas)) {
    out.push(`pragmas read back (${name}): ${Object.entries(pragmas).map(([k, v]) => `${k}=${v}`).join(' ')}`)
  }
  out.push(input.settings, '')

  const sync = figureSpread(input.repetitions, 'sync', 'perSecond')
  const rows: string[][] = []
  for (const contender of input.contenders) {
    const shown = shownFigures[contender.id] ?? shownFigures['default']!
    for (const [name, unit] of shown) {
      const spread = figureSpread(input.repetitions, contender.id, name)
      const perSyncValues = input.repetitions
        .map((r) => {
          const value = r.get(contender.id)?.[name]
          const base = r.get('sync')?.['perSecond']
          return unit.endsWith('/s') && value !== undefined && base ? value / base : undefined
        })
        .filter((v): v is number => v !== undefined)
      const perSync = perSyncValues.length ? formatNumber(spreadOf(perSyncValues).median, 'x') : ''
      rows.push([
        contender.kind === 'baseline' ? 'baseline' : 'kanban-db',
        contender.id,
        `${name} (${unit})`,
        ...(spread ? formatSpread(spread) : ['not measured', '', '']),
        sync ? perSync : '',
      ])
    }
  }
  out.push('Contenders (min / median / max over the repetitions; x sync = median of per-repetition ratios to sync)')
  out.push(table(['kind', 'contender', 'figure', 'min', 'median', 'max', 'x sync'], rows), '')

  const goals = input.goals.filter((g) => !g.ceiling)
  const ceilings = input.goals.filter((g) => g.ceiling)
  out.push('Goals (each value is a per-repetition ratio or figure; the median decides, the worst for zero-count goals)')
  out.push(
    table(
      ['goal', 'measure', 'target', 'min', 'median', 'max', 'verdict'],
      goals.map((g) => [g.id, g.measure, g.goal, ...formatSpread(g.spread, g.unit), g.verdict]),
    ),
    '',
  )
  if (ceilings.length > 0) {
    out.push(
      'Ceilings (not goals: C1, C5 and P2 against stronger raw baselines of the same repetition; on a CPU-bound machine these say how far SQLite, or the board\'s rows on Postgres, get; ' +
        'W1 CPU and W3 NORMAL say where W1 and W3 stand apart from the machine\'s load and the disk)',
    )
    out.push(
      table(
        ['line', 'measure', 'reads', 'min', 'median', 'max', 'verdict'],
        ceilings.map((g) => [g.id, g.measure, g.goal, ...formatSpread(g.spread, g.unit), g.verdict]),
      ),
      '',
    )
  }
  const holding = goals.filter((g) => g.verdict === 'HOLDS').length
  const failing = goals.filter((g) => g.verdict === 'DOES NOT HOLD').length
  const missing = goals.filter((g) => g.verdict === 'NOT MEASURED').length
  out.push(`goals: ${holding} hold, ${failing} do not hold, ${missing} not measured`)
  for (const [id, reason] of input.notMeasured) out.push(`not measured: ${id}: ${reason}`)
  for (const note of input.notes) out.push(`note: ${note}`)
  if (input.failures.length === 0) out.push('invariants: all held (every task completed exactly once, unique claim tokens, no lease lost while heartbeating)')
  else {
    out.push(`INVARIANT FAILURES (${input.failures.length}):`)
    for (const failure of input.failures) out.push(`  - ${failure}`)
  }
  return out.join('\n')
}

/** Figures as plain objects for JSON. */
export function repetitionsAsJson(repetitions: readonly Repetition[]): Record<string, Figures>[] {
  return repetitions.map((r) => Object.fromEntries(r))
}

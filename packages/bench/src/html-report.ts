import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Figures } from './contender.ts'
import type { GoalResult } from './report.ts'
import { formatNumber } from './report.ts'
import { percentile } from './stats.ts'

/** What `./dev bench --json` writes, as far as the HTML page reads it. */
export interface BenchReportJson {
  readonly environment: { readonly date: string; readonly cpu: string; readonly cores: number; readonly node: string; readonly dir: string; readonly filesystem: string; readonly load?: readonly number[] }
  readonly settings?: { readonly adapter?: string; readonly repetitions?: number; readonly smoke?: boolean }
  /** Per repetition, every contender's figures by contender id. */
  readonly figures: readonly Readonly<Record<string, Figures>>[]
  readonly goals: readonly GoalResult[]
  readonly failures: readonly string[]
  readonly notes?: readonly string[]
  /** Samples by `<repetition>:<contender id>`, for example `claimLatencyMs`. */
  readonly samples?: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>
}

/**
 * Each kanban-db scenario and the baseline its machinery goal (issue 22's M lines, else the goal
 * that reads it) divides by: the page charts them side by side per repetition.
 */
export const SCENARIO_BASELINES: Readonly<Record<string, string>> = {
  'board-claim/NORMAL': 'raw-board/NORMAL',
  'board-ops/FULL': 'raw-board/FULL',
  'board-callers8/FULL': 'raw-board-batched/FULL',
  'board-batched/FULL': 'sync',
  'board-bulk/NORMAL': 'raw-board-bulk/NORMAL',
  'board-bulk/FULL': 'raw-board-bulk/FULL',
  'board-open': 'raw-open',
  'fleet/NORMAL': 'raw-board-fleet/NORMAL',
  'fleet/FULL': 'raw-board-fleet/FULL',
  'fleet-hand/NORMAL': 'raw-board-fleet/NORMAL',
  'fleet-hand/FULL': 'raw-board-fleet/FULL',
  'pg-board': 'pg-raw-board',
  'pg-fleet': 'pg-raw-board-fleet',
}

/** The figure a chart plots for a contender: its throughput, or its p50 for open figures. */
function plottedFigure(figures: Figures | undefined): [string, number] | undefined {
  if (!figures) return undefined
  for (const name of ['perSecond', 'tasksPerSecond', 'p50Ms']) {
    const value = figures[name]
    if (value !== undefined && Number.isFinite(value)) return [name, value]
  }
  return undefined
}

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

const KANBAN = '#2563eb'
const BASELINE = '#9ca3af'
const SERIES = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2']

/** A grouped bar chart: per repetition, the scenario's figure beside its baseline's. */
function throughputChart(report: BenchReportJson, scenario: string, baseline: string | undefined): string {
  const reps = report.figures.map((figures) => ({ own: plottedFigure(figures[scenario]), base: baseline ? plottedFigure(figures[baseline]) : undefined }))
  const unit = reps.find((r) => r.own)?.own?.[0] ?? 'perSecond'
  const max = Math.max(1e-9, ...reps.flatMap((r) => [r.own?.[1] ?? 0, r.base?.[1] ?? 0]))
  const width = 120 + reps.length * 90
  const height = 190
  const plotTop = 20
  const plotHeight = 130
  const y = (value: number): number => plotTop + plotHeight - (value / max) * plotHeight
  const parts: string[] = []
  parts.push(`<line x1="50" y1="${plotTop + plotHeight}" x2="${width - 10}" y2="${plotTop + plotHeight}" stroke="#374151"/>`)
  parts.push(`<text x="46" y="${plotTop + 4}" text-anchor="end" font-size="10">${escape(formatNumber(max))}</text>`)
  parts.push(`<text x="46" y="${plotTop + plotHeight}" text-anchor="end" font-size="10">0</text>`)
  reps.forEach((rep, i) => {
    const x = 60 + i * 90
    const bar = (value: number | undefined, dx: number, color: string, label: string): void => {
      if (value === undefined) return
      parts.push(
        `<rect x="${x + dx}" y="${y(value).toFixed(1)}" width="30" height="${(plotTop + plotHeight - y(value)).toFixed(1)}" fill="${color}">` +
          `<title>${escape(`${label}, repetition ${i + 1}: ${formatNumber(value)}`)}</title></rect>`,
      )
    }
    bar(rep.own?.[1], 0, KANBAN, scenario)
    bar(rep.base?.[1], 34, BASELINE, baseline ?? '')
    const ratio = rep.own && rep.base && rep.base[1] !== 0 ? formatNumber(rep.own[1] / rep.base[1], 'x') : ''
    parts.push(`<text x="${x + 32}" y="${plotTop + plotHeight + 14}" text-anchor="middle" font-size="10">rep ${i + 1}</text>`)
    if (ratio) parts.push(`<text x="${x + 32}" y="${plotTop + plotHeight + 28}" text-anchor="middle" font-size="11" font-weight="bold">${escape(ratio)}</text>`)
  })
  const legend =
    `<span class="key" style="background:${KANBAN}"></span>${escape(scenario)}` +
    (baseline ? ` <span class="key" style="background:${BASELINE}"></span>${escape(baseline)}` : '') +
    ` <span class="unit">(${escape(unit)}${baseline ? '; bold: ratio in the repetition' : ''})</span>`
  return (
    `<figure><figcaption>${escape(scenario)}${baseline ? ` against ${escape(baseline)}` : ''}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join('')}</svg>` +
    `<div class="legend">${legend}</div></figure>`
  )
}

/** Claim-wait percentiles (p1..p100, log-scaled ms) of a fleet, one line per repetition. */
function claimWaitChart(report: BenchReportJson, fleet: string): string | undefined {
  const series: { rep: number; values: readonly number[] }[] = []
  for (const [key, samples] of Object.entries(report.samples ?? {})) {
    const [rep, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)]
    const values = samples['claimLatencyMs']
    if (id === fleet && values && values.length > 0) series.push({ rep: Number(rep), values })
  }
  if (series.length === 0) return undefined
  series.sort((a, b) => a.rep - b.rep)
  const width = 420
  const height = 220
  const left = 50
  const top = 15
  const plotWidth = width - left - 15
  const plotHeight = 160
  const all = series.flatMap((s) => [percentile(s.values, 1), percentile(s.values, 100)]).filter((v) => v > 0)
  const lo = Math.log10(Math.max(0.01, Math.min(...all)))
  const hi = Math.max(lo + 1, Math.log10(Math.max(...all)))
  const y = (ms: number): number => top + plotHeight - ((Math.log10(Math.max(ms, 10 ** lo)) - lo) / (hi - lo)) * plotHeight
  const x = (p: number): number => left + (p / 100) * plotWidth
  const parts: string[] = []
  parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#d1d5db"/>`)
  for (let decade = Math.ceil(lo); decade <= Math.floor(hi); decade++) {
    const ms = 10 ** decade
    parts.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="#e5e7eb"/>`)
    parts.push(`<text x="${left - 4}" y="${(y(ms) + 3).toFixed(1)}" text-anchor="end" font-size="10">${escape(formatNumber(ms))} ms</text>`)
  }
  for (const p of [0, 50, 90, 99]) {
    parts.push(`<text x="${x(p).toFixed(1)}" y="${top + plotHeight + 14}" text-anchor="middle" font-size="10">p${p}</text>`)
  }
  for (const limit of [20, 250]) {
    if (Math.log10(limit) <= hi && Math.log10(limit) >= lo) {
      parts.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y(limit).toFixed(1)}" y2="${y(limit).toFixed(1)}" stroke="#f59e0b" stroke-dasharray="4 3"><title>C3: ${limit} ms</title></line>`)
    }
  }
  series.forEach((s, i) => {
    const points: string[] = []
    for (let p = 1; p <= 100; p++) points.push(`${x(p).toFixed(1)},${y(percentile(s.values, p)).toFixed(1)}`)
    const color = SERIES[i % SERIES.length]!
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${points.join(' ')}">` +
        `<title>${escape(`repetition ${s.rep + 1}: ${s.values.length} claims, p50 ${formatNumber(percentile(s.values, 50))} ms, p99 ${formatNumber(percentile(s.values, 99))} ms, max ${formatNumber(percentile(s.values, 100))} ms`)}</title></polyline>`,
    )
  })
  const legend = series
    .map((s, i) => `<span class="key" style="background:${SERIES[i % SERIES.length]}"></span>rep ${s.rep + 1} (p99 ${escape(formatNumber(percentile(s.values, 99)))} ms)`)
    .join(' ')
  return (
    `<figure><figcaption>${escape(fleet)}: claim wait by percentile (log ms; dashed: C3's 20 and 250 ms)</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">${parts.join('')}</svg>` +
    `<div class="legend">${legend}</div></figure>`
  )
}

function goalTable(goals: readonly GoalResult[]): string {
  const rows = goals
    .map((g) => {
      const cls = g.verdict === 'HOLDS' ? 'holds' : g.verdict === 'DOES NOT HOLD' ? 'fails' : 'info'
      const spread = g.spread ? [g.spread.min, g.spread.median, g.spread.max].map((v) => escape(formatNumber(v, g.unit))) : ['-', '-', '-']
      return `<tr class="${cls}"><td>${escape(g.id)}</td><td>${escape(g.measure)}</td><td>${escape(g.goal)}</td><td>${spread.join('</td><td>')}</td><td>${escape(g.verdict)}</td></tr>`
    })
    .join('\n')
  return `<table><thead><tr><th>line</th><th>measure</th><th>target</th><th>min</th><th>median</th><th>max</th><th>verdict</th></tr></thead><tbody>\n${rows}\n</tbody></table>`
}

/**
 * The bench's report as one self-contained HTML page: every figure drawn as inline SVG, styles
 * inline, no script and no external asset (it opens from a file, offline, as an attachment). Per
 * kanban-db scenario a chart of its figure per repetition beside its baseline's, with the ratio;
 * per fleet the claim-wait distribution of each repetition; then the goals and ceilings.
 */
export function renderHtml(report: BenchReportJson): string {
  const ids = new Set(report.figures.flatMap((figures) => Object.keys(figures)))
  const charts: string[] = []
  for (const id of ids) {
    if (!(id in SCENARIO_BASELINES) && !/^(board-|fleet|work-|pg-fleet$|pg-board$)/.test(id)) continue
    if (!report.figures.some((figures) => plottedFigure(figures[id]))) continue
    const baseline = SCENARIO_BASELINES[id]
    charts.push(throughputChart(report, id, baseline !== undefined && ids.has(baseline) ? baseline : undefined))
  }
  const waits = [...ids].filter((id) => /fleet/.test(id)).map((id) => claimWaitChart(report, id)).filter((c): c is string => c !== undefined)
  const env = report.environment
  const goals = report.goals.filter((g) => !g.ceiling)
  const ceilings = report.goals.filter((g) => g.ceiling)
  const failures = report.failures.length === 0
    ? '<p class="holds">invariants: all held</p>'
    : `<p class="fails">INVARIANT FAILURES (${report.failures.length})</p><ul>${report.failures.map((f) => `<li>${escape(f)}</li>`).join('')}</ul>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kanban-db bench, ${escape(env.date)}</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:1.5em;color:#111827}
h1{font-size:18px}h2{font-size:15px;margin-top:1.6em}
.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;border:1px solid #e5e7eb;padding:8px;border-radius:4px}
figcaption{font-weight:600;margin-bottom:4px}
.legend{font-size:11px}.key{display:inline-block;width:10px;height:10px;margin:0 3px 0 6px;vertical-align:middle}
.unit{color:#6b7280}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #e5e7eb;padding:2px 6px;text-align:left;vertical-align:top}
tr.holds td:last-child,p.holds{color:#15803d}tr.fails td:last-child,p.fails{color:#b91c1c;font-weight:600}tr.info td:last-child{color:#6b7280}
</style></head><body>
<h1>kanban-db bench, ${escape(env.date)}</h1>
<p>cpu: ${escape(env.cpu)} x ${env.cores}; node ${escape(env.node)}; dir ${escape(env.dir)} on ${escape(env.filesystem)}${env.load ? `; load average at start ${env.load.map((l) => l.toFixed(2)).join(' ')}` : ''}; board adapter: ${escape(report.settings?.adapter ?? 'better-sqlite3')}; ${report.figures.length} repetition(s)${report.settings?.smoke ? ' (smoke)' : ''}</p>
<p>Each chart: the kanban-db figure per repetition (blue) beside the baseline its goal divides by (grey), measured seconds apart in the same repetition; the bold number under each pair is their ratio. Only ratios within one repetition mean anything on a shared machine.</p>
${failures}
<h2>Throughput per repetition against its baseline</h2>
<div class="charts">
${charts.join('\n')}
</div>
<h2>Claim-wait distribution of the fleets</h2>
<div class="charts">
${waits.length > 0 ? waits.join('\n') : '<p>No fleet ran.</p>'}
</div>
<h2>Goals</h2>
${goalTable(goals)}
<h2>Ceilings</h2>
${goalTable(ceilings)}
</body></html>
`
}

/** `node src/html-report.ts run.json page.html`: the page of a report written earlier with --json. */
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [input, output] = process.argv.slice(2)
  if (!input || !output) {
    console.error('usage: node src/html-report.ts REPORT.json PAGE.html')
    process.exit(2)
  }
  writeFileSync(output, renderHtml(JSON.parse(readFileSync(input, 'utf8')) as BenchReportJson))
}

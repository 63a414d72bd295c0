import { TIERS } from './case.js'
import type { AdapterReport, CaseStatus, ConformanceReport } from './report.js'

const CELL: Readonly<Record<CaseStatus, string>> = { pass: 'pass', fail: 'FAIL', skip: 'skip', xfail: 'xfail', xpass: 'XPASS' }

/**
 * The matrix as text: one row per case (grouped by tier), one column per subject (adapter or engine), then every skip,
 * failure and known failure with its reason, so nothing is hidden behind a one-word cell.
 */
export function formatMatrix(report: Pick<ConformanceReport, 'adapters'>): string {
  const rowsById = new Map<string, string>()
  for (const adapter of report.adapters) for (const result of adapter.results) rowsById.set(result.id, result.tier)
  const headers = ['case', 'tier', ...report.adapters.map(columnHeader)]
  // Grouped by tier in TIERS order; within a tier, in the order the cases ran.
  const ordered = [...rowsById].sort(([, a], [, b]) => TIERS.indexOf(a as never) - TIERS.indexOf(b as never))
  const rows = ordered.map(([id, tier]) => [
    id,
    tier,
    ...report.adapters.map((adapter) => {
      const result = adapter.results.find((candidate) => candidate.id === id)
      return result ? CELL[result.status] : '-'
    }),
  ])
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()
  const out = [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)]
  const reasons = report.adapters.flatMap((adapter) =>
    adapter.results
      .filter((result) => result.status !== 'pass')
      .map((result) => `  ${CELL[result.status]} ${adapter.name} ${result.id}: ${(result.detail || 'no reason given').replaceAll('\n', '\n      ')}`),
  )
  if (reasons.length > 0) out.push('', 'Reasons:', ...reasons)
  const counts = countStatuses(report)
  out.push('', Object.entries(counts).map(([status, count]) => `${count} ${status}`).join(', '))
  return out.join('\n')
}

/** A column's header: the subject and its engine's version (`better-sqlite3 (SQLite 3.54.1)`, `postgres (PostgreSQL 15.14)`). */
export function columnHeader(adapter: Pick<AdapterReport, 'name' | 'engine' | 'engineVersion' | 'sqliteVersion'>): string {
  if (adapter.engine === 'postgres') {
    const version = adapter.engineVersion ?? '?'
    return version === '?' ? `${adapter.name} (PostgreSQL, no server)` : `${adapter.name} (PostgreSQL ${version})`
  }
  return `${adapter.name} (SQLite ${adapter.sqliteVersion ?? adapter.engineVersion ?? '?'})`
}

/** How many results have each status, over every adapter. */
export function countStatuses(report: Pick<ConformanceReport, 'adapters'>): Record<CaseStatus, number> {
  const counts: Record<CaseStatus, number> = { pass: 0, fail: 0, skip: 0, xfail: 0, xpass: 0 }
  for (const adapter of report.adapters) for (const result of adapter.results) counts[result.status] += 1
  return counts
}

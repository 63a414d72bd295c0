import { describe, expect, it } from 'vitest'
import { goals, type Repetition } from '../src/goals.ts'
import { type BenchReportJson, renderHtml } from '../src/html-report.ts'
import { judge, repetitionsAsJson } from '../src/report.ts'

/** Three repetitions of a run that measured a few scenarios, their baselines and two fleets. */
function repetitions(): Repetition[] {
  return [1, 1.1, 0.9].map((f) => new Map(Object.entries({
    'raw-board/NORMAL': { perSecond: 1500 * f },
    'board-claim/NORMAL': { perSecond: 1200 * f },
    plainjob: { perSecond: 3800 * f },
    'raw-board-bulk/FULL': { perSecond: 60_000 * f },
    'board-bulk/FULL': { perSecond: 30_000 * f },
    'raw-board-fleet/FULL': { perSecond: 1100 * f, claimP99Ms: 300, claimMaxMs: 4000, minWindowSharePct: 0, busy: 0 },
    'fleet/FULL': { perSecond: 400 * f, claimP99Ms: 18, claimMaxMs: 40, minWindowSharePct: 23, busy: 0 },
  })))
}

/** The report as `--json` writes it and a reader parses it back. */
function reportJson(): BenchReportJson {
  const reps = repetitions()
  const samples: Record<string, Record<string, number[]>> = {}
  reps.forEach((_, rep) => {
    samples[`${rep}:fleet/FULL`] = { claimLatencyMs: Array.from({ length: 200 }, (_, i) => 0.5 + (i % 50) * 0.4 + rep) }
    samples[`${rep}:raw-board-fleet/FULL`] = { claimLatencyMs: Array.from({ length: 200 }, (_, i) => 0.2 + i * 3) }
  })
  const report = {
    environment: { date: '2026-12-06T23:59:00.000Z', cpu: 'AMD EPYC <test>', cores: 2, node: '24.21.0', dir: '/tmp/x', filesystem: 'ext4 (0xef53)', load: [7.1, 9, 7.3] },
    settings: { adapter: 'better-sqlite3', repetitions: 3, smoke: false },
    figures: repetitionsAsJson(reps),
    goals: judge(goals(), reps),
    failures: [],
    notes: [],
    samples,
  }
  return JSON.parse(JSON.stringify(report)) as BenchReportJson
}

describe('the HTML page of a bench report', () => {
  it('has a chart per scenario against its baseline, the fleets\' claim waits and the M lines', () => {
    const html = renderHtml(reportJson())
    expect(html.startsWith('<!doctype html>')).toBe(true)
    for (const caption of ['board-claim/NORMAL against raw-board/NORMAL', 'board-bulk/FULL against raw-board-bulk/FULL', 'fleet/FULL against raw-board-fleet/FULL']) {
      expect(html).toContain(`<figcaption>${caption}</figcaption>`)
    }
    expect(html).toContain('fleet/FULL: claim wait by percentile')
    expect(html).toContain('raw-board-fleet/FULL: claim wait by percentile')
    expect(html.match(/<svg /g)?.length).toBe(5)
    // The ratio of each repetition is printed under its pair: 1200 / 1500.
    expect(html).toContain('>0.8x<')
    expect(html).toMatch(/<td>M3 NORMAL<\/td>.*<td>0\.8x<\/td>.*<td>HOLDS<\/td>/)
    expect(html).toMatch(/<td>M1 FULL<\/td>.*<td>DOES NOT HOLD<\/td>/)
    // Text from the report is escaped, never markup.
    expect(html).toContain('AMD EPYC &lt;test&gt;')
  })

  it('is self-contained: no script, stylesheet, image or font fetched from anywhere', () => {
    const html = renderHtml(reportJson())
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\b(src|href)\s*=/i)
    // The only URL is the SVG namespace, which names the vocabulary and fetches nothing.
    const urls = html.match(/\b[a-z]+:\/\/[^"'\s<>)]+/gi) ?? []
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']))
  })

  it('the self-containment check would catch an external asset', () => {
    const html = renderHtml(reportJson()).replace('</head>', '<link rel="stylesheet" href="https://example.com/x.css"></head>')
    expect(html).toMatch(/<script|<link|<img|<iframe|@import|url\(|\b(src|href)\s*=/i)
  })
})

describe('the M lines (issue 22)', () => {
  it('divide each scenario by the board\'s statements raw, in the same repetition, and count C2-C4 failures in the fleet', () => {
    const judged = judge(goals(), repetitions())
    const line = (id: string) => judged.find((g) => g.id === id)!
    expect(line('M3 NORMAL').spread?.median).toBeCloseTo(0.8)
    expect(line('M4 FULL').spread?.median).toBeCloseTo(0.5)
    expect(line('M4 FULL').verdict).toBe('DOES NOT HOLD')
    expect(line('M5').spread?.median).toBeCloseTo(1200 / 3800)
    expect(line('M1 FULL').spread?.median).toBeCloseTo(400 / 1100)
    expect(line('M1 FULL C2-C4').spread?.median).toBe(0)
    expect(line('M1 FULL C2-C4').verdict).toBe('HOLDS')
    expect(line('M2').verdict).toBe('NOT MEASURED')
  })
})

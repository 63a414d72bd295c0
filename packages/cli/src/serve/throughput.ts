import type { Board, BoardEvent, EventKind } from '@kanban-db/core'
import { html, type SafeHtml } from './html.js'

/** Minutes the chart shows. */
export const THROUGHPUT_MINUTES = 15

const MINUTE_MS = 60_000
const DONE_KINDS: readonly EventKind[] = ['completed', 'approved']
const FAILED_KINDS: readonly EventKind[] = ['failed', 'retried', 'gave-up', 'expired', 'crashed']

/** One minute of the chart: tasks done and attempts that failed in it. */
export interface ThroughputMinute {
  /** The minute's start, ms since the epoch. */
  readonly start: number
  readonly done: number
  readonly failed: number
}

/**
 * Tasks finished per minute over the last {@link THROUGHPUT_MINUTES}: read once from the event log
 * (one grouped query), then counted from the events the follower hands over.
 */
export class Throughput {
  private readonly counts = new Map<number, { done: number; failed: number }>()

  /** Reads the window's counts from the board. */
  static async load(board: Board, now = Date.now()): Promise<Throughput> {
    const throughput = new Throughput()
    const since = (Math.floor(now / MINUTE_MS) - THROUGHPUT_MINUTES + 1) * MINUTE_MS
    const rows = await board.db
      .selectFrom('events')
      .select((eb) => [eb('created_at', '/', MINUTE_MS).as('minute'), 'kind', eb.fn.countAll().as('n')])
      .where('created_at', '>=', since)
      .where('kind', 'in', [...DONE_KINDS, ...FAILED_KINDS])
      .groupBy(['minute', 'kind'])
      .execute()
    for (const row of rows) throughput.count(Math.floor(Number(row.minute)), row.kind as EventKind, Number(row.n))
    return throughput
  }

  /** Counts new events. */
  add(events: readonly BoardEvent[]): void {
    for (const event of events) this.count(Math.floor(event.createdAt / MINUTE_MS), event.kind, 1)
  }

  private count(minute: number, kind: EventKind, n: number): void {
    const done = DONE_KINDS.includes(kind)
    if (!done && !FAILED_KINDS.includes(kind)) return
    const bucket = this.counts.get(minute) ?? { done: 0, failed: 0 }
    if (done) bucket.done += n
    else bucket.failed += n
    this.counts.set(minute, bucket)
  }

  /** The window ending at `now`, oldest minute first (older minutes are forgotten). */
  minutes(now = Date.now()): ThroughputMinute[] {
    const last = Math.floor(now / MINUTE_MS)
    for (const minute of this.counts.keys()) if (minute <= last - THROUGHPUT_MINUTES) this.counts.delete(minute)
    const out: ThroughputMinute[] = []
    for (let minute = last - THROUGHPUT_MINUTES + 1; minute <= last; minute++) {
      const bucket = this.counts.get(minute)
      out.push({ start: minute * MINUTE_MS, done: bucket?.done ?? 0, failed: bucket?.failed ?? 0 })
    }
    return out
  }
}

/** The window as a small bar chart (inline SVG): done in green, failed attempts stacked in red. */
export function throughputChart(minutes: readonly ThroughputMinute[]): SafeHtml {
  const width = 300
  const height = 64
  const barWidth = width / Math.max(1, minutes.length)
  const peak = Math.max(1, ...minutes.map((m) => m.done + m.failed))
  const total = minutes.reduce((sum, m) => sum + m.done, 0)
  const failed = minutes.reduce((sum, m) => sum + m.failed, 0)
  const bars = minutes.map((m, i) => {
    const x = (i * barWidth + 1).toFixed(1)
    const w = (barWidth - 2).toFixed(1)
    const doneHeight = (m.done / peak) * (height - 4)
    const failedHeight = (m.failed / peak) * (height - 4)
    const label = `${new Date(m.start).toISOString().slice(11, 16)} UTC: ${m.done} done, ${m.failed} failed`
    return html`<g><title>${label}</title><rect class="done" x="${x}" y="${(height - doneHeight).toFixed(1)}" width="${w}" height="${doneHeight.toFixed(1)}"></rect><rect class="failed" x="${x}" y="${(height - doneHeight - failedHeight).toFixed(1)}" width="${w}" height="${failedHeight.toFixed(1)}"></rect></g>`
  })
  return html`<figure class="throughput"><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Tasks done per minute, last ${minutes.length} minutes">${bars}<line x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}" class="axis"></line></svg><figcaption>${total} done, ${failed} failed attempts in the last ${minutes.length} min · peak ${peak}/min</figcaption></figure>`
}

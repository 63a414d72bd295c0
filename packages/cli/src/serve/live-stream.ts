import type { IncomingMessage, ServerResponse } from 'node:http'
import type { BoardEvent } from '@kanban-db/core'

/** What the `board` message carries: the rendered (escaped) columns and chart, and the log position they show. */
export interface BoardSnapshot {
  readonly columns: string
  readonly throughput: string
  readonly position: number
}

/** Coalesces bursts of events into one snapshot per this many ms. */
const SNAPSHOT_DELAY_MS = 100
/** A comment line this often keeps proxies and the browser from timing the stream out. */
const KEEPALIVE_MS = 15_000
/** Even without events the chart moves on: a fresh snapshot this often. */
const REFRESH_MS = 30_000

/**
 * The server-sent event stream at /events. Messages: `board` (a {@link BoardSnapshot}, on connect
 * and after each burst of changes, rendered once for every client), `events` (the new events, for
 * the page to mark changed cards and refresh an open task), `health` (the health panel's HTML, on
 * connect and when a doctor run ends), `problem` (the board could not be read: its message; the next
 * snapshot that works replaces it).
 */
export class LiveStream {
  private readonly clients = new Set<ServerResponse>()
  private readonly keepalive: NodeJS.Timeout
  private readonly refresh: NodeJS.Timeout
  private pending: NodeJS.Timeout | undefined

  constructor(
    private readonly snapshot: () => Promise<BoardSnapshot>,
    private readonly healthHtml: () => string,
  ) {
    this.keepalive = setInterval(() => this.write(': keepalive\n\n'), KEEPALIVE_MS)
    this.refresh = setInterval(() => this.boardChanged(), REFRESH_MS)
    this.keepalive.unref()
    this.refresh.unref()
  }

  /** Connected browsers. */
  get size(): number {
    return this.clients.size
  }

  /** Takes a GET /events request: the stream starts with the current board and health panel. */
  attach(request: IncomingMessage, response: ServerResponse, headers: Record<string, string>): void {
    response.writeHead(200, { ...headers, 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
    response.write('retry: 2000\n\n')
    this.clients.add(response)
    request.on('close', () => this.clients.delete(response))
    response.write(message('health', { html: this.healthHtml() }))
    this.snapshot().then(
      (snapshot) => response.write(message('board', snapshot)),
      (error: unknown) => response.write(problem(error)),
    )
  }

  /** New events: sent at once, and a snapshot follows shortly. */
  events(events: readonly BoardEvent[]): void {
    if (this.clients.size === 0) return
    const last = events[events.length - 1]
    this.write(`id: ${last?.id ?? ''}\n` + message('events', events.map((e) => ({ id: e.id, taskId: e.taskId, kind: e.kind, fromStatus: e.fromStatus, toStatus: e.toStatus, createdAt: e.createdAt }))))
    this.boardChanged()
  }

  /** Sends a fresh snapshot soon (several calls within {@link SNAPSHOT_DELAY_MS} make one). */
  boardChanged(): void {
    if (this.clients.size === 0 || this.pending) return
    this.pending = setTimeout(() => {
      this.snapshot().then(
        (snapshot) => {
          this.pending = undefined
          this.write(message('board', snapshot))
        },
        (error: unknown) => {
          this.pending = undefined
          this.write(problem(error))
        },
      )
    }, SNAPSHOT_DELAY_MS)
  }

  /** Sends the health panel's HTML. */
  health(panelHtml: string): void {
    this.write(message('health', { html: panelHtml }))
  }

  private write(text: string): void {
    for (const client of this.clients) client.write(text)
  }

  /** Ends every stream. */
  close(): void {
    clearInterval(this.keepalive)
    clearInterval(this.refresh)
    clearTimeout(this.pending)
    for (const client of this.clients) client.end()
    this.clients.clear()
  }
}

/** The `problem` message: why the board could not be read. */
function problem(error: unknown): string {
  return message('problem', { message: error instanceof Error ? error.message : String(error) })
}

/** One SSE message; JSON keeps the data on one line. */
function message(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

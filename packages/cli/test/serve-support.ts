import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { openBoardTarget, type BoardTarget, type OpenedBoard } from '../src/board-target.js'

/** The Postgres server the tests reach (`./dev test` starts one); undefined: those tests skip. */
export const postgresUrl: string | undefined = process.env['KANBAN_DB_POSTGRES_URL'] || undefined

/** A fresh temporary directory removed after the current test. */
export function tempDir(prefix = 'kanban-db-serve-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  afterEach(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A new board on SQLite (a file in a fresh directory) or on the Postgres server (a fresh schema, dropped after the test). */
export async function freshBoard(engine: 'sqlite' | 'postgres'): Promise<{ target: BoardTarget; writer: OpenedBoard }> {
  let target: BoardTarget
  if (engine === 'sqlite') {
    target = { engine: 'sqlite', path: join(tempDir(), 'board.db') }
  } else {
    const schema = `serve_${randomBytes(6).toString('hex')}`
    target = { engine: 'postgres', connectionString: postgresUrl!, schema }
  }
  const writer = await openBoardTarget(target)
  afterEach(async () => {
    if (target.engine === 'postgres') await writer.board.db.schema.dropSchema(target.schema!).ifExists().cascade().execute().catch(() => {})
    await writer.board.close()
  })
  return { target, writer }
}

/** One HTTP answer. */
export interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** Sends a request with exactly these headers (fetch would not let a test forge Host). */
export function send(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  const base = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path: options.path ?? '/', method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** A POST of an urlencoded form. */
export function postForm(url: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const body = new URLSearchParams(fields).toString()
  return send(url, { method: 'POST', path, body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': String(Buffer.byteLength(body)), ...headers } })
}

/** One server-sent event message. */
export interface StreamMessage {
  readonly event: string
  readonly data: string
}

/** A connection to /events that keeps every message it receives. */
export class EventStreamClient {
  readonly messages: StreamMessage[] = []
  private buffer = ''
  private readonly closeRequest: () => void
  private waiters: Array<() => void> = []

  constructor(url: string) {
    const base = new URL(url)
    const req = request({ host: base.hostname, port: base.port, path: '/events', headers: { Accept: 'text/event-stream' } }, (res) => {
      res.setEncoding('utf8')
      res.on('data', (text: string) => this.receive(text))
    })
    req.on('error', () => {})
    req.end()
    this.closeRequest = () => req.destroy()
  }

  private receive(text: string): void {
    this.buffer += text
    let end: number
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + 2)
      let event = 'message'
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7)
        else if (line.startsWith('data: ')) data.push(line.slice(6))
      }
      if (data.length) this.messages.push({ event, data: data.join('\n') })
    }
    for (const wake of this.waiters.splice(0)) wake()
  }

  /** Waits (up to `timeoutMs`, generous for a loaded machine) for a message that `match` accepts. */
  async next(match: (message: StreamMessage) => boolean, timeoutMs = 30_000): Promise<StreamMessage> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.messages.find(match)
      if (found) return found
      if (Date.now() > deadline) throw new Error(`no matching server-sent event within ${timeoutMs} ms; got: ${this.messages.map((m) => m.event).join(', ')}`)
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve)
        setTimeout(resolve, 200)
      })
    }
  }

  close(): void {
    this.closeRequest()
  }
}

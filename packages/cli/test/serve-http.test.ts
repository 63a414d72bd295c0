import { connect } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { serveBoard } from '../src/serve/index.js'
import { EventStreamClient, freshBoard, postForm, postgresUrl, send } from './serve-support.js'

/** A board served for one test, closed after it. */
async function served(options: Parameters<typeof serveBoard>[1] = {}) {
  const { target, writer } = await freshBoard('sqlite')
  const server = await serveBoard(target, options)
  onTestFinished(() => server.close())
  return { board: writer.board, server }
}


/** The status of an HTTP/1.0 request with no Host header at all. */
function withoutHost(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1', () => socket.write('GET / HTTP/1.0\r\n\r\n'))
    let text = ''
    socket.on('data', (chunk) => (text += chunk.toString('latin1')))
    socket.on('end', () => resolve(Number(/^HTTP\/1\.[01] (\d+)/.exec(text)?.[1] ?? 0)))
    socket.on('error', reject)
  })
}

async function blockedTask(board: Awaited<ReturnType<typeof served>>['board'], title = 'stuck on a credential') {
  const task = await board.createTask({ title })
  await board.block(task.id, 'needs a person')
  return task
}

async function eventCount(board: Awaited<ReturnType<typeof served>>['board'], taskId: string): Promise<number> {
  return (await board.events({ taskId, limit: 10_000 })).length
}

describe('kanban-db serve over HTTP', () => {
  it('shows one column per status with counts, and the task detail with its runs, events and comments', async () => {
    const { board, server } = await served()
    const a = await board.createTask({ title: 'write the release notes' })
    await board.createTask({ title: 'tag the release' })
    const claimed = await board.claimNext({ workerId: 'w1', leaseMs: 60_000 })
    await board.complete(claimed!.id, claimed!.claimToken, { ok: true }, { summary: 'notes written' })
    await board.addComment(a.id, { body: 'looks good', author: 'ana' })

    const index = await send(server.url)
    expect(index.status).toBe(200)
    expect(index.headers['content-type']).toMatch(/^text\/html/)
    for (const status of ['triage', 'todo', 'scheduled', 'ready', 'running', 'review', 'blocked', 'done', 'failed', 'archived']) {
      expect(index.body).toContain(`data-status="${status}"`)
    }
    expect(index.body).toMatch(/data-status="done"><h2>done <span class="count">1<\/span>/)
    expect(index.body).toMatch(/data-status="ready"><h2>ready <span class="count">1<\/span>/)

    const detail = await send(server.url, { path: `/tasks/${a.id}` })
    expect(detail.status).toBe(200)
    expect(detail.body).toContain('notes written')
    expect(detail.body).toContain('completed')
    expect(detail.body).toContain('looks good')
    expect((await send(server.url, { path: '/tasks/no-such-task' })).status).toBe(404)
  })

  for (const engine of ['sqlite', 'postgres'] as const) {
    const skip = engine === 'postgres' && !postgresUrl
    it.skipIf(skip)(`streams a new task’s event and the board with it through server-sent events (${engine}${skip ? ': skipped, no KANBAN_DB_POSTGRES_URL' : ''})`, async () => {
      const { target, writer } = await freshBoard(engine)
      const server = await serveBoard(target)
      onTestFinished(() => server.close())
      const stream = new EventStreamClient(server.url)
      onTestFinished(() => stream.close())
      await stream.next((m) => m.event === 'board')

      const task = await writer.board.createTask({ title: 'arrived while watching' })

      const events = await stream.next((m) => m.event === 'events' && (JSON.parse(m.data) as Array<{ taskId: string }>).some((e) => e.taskId === task.id))
      expect(JSON.parse(events.data)).toContainEqual(expect.objectContaining({ taskId: task.id, kind: 'created', toStatus: 'ready' }))
      const snapshot = await stream.next((m) => m.event === 'board' && m.data.includes('arrived while watching'))
      expect(JSON.parse(snapshot.data).columns).toMatch(/data-status="ready"><h2>ready <span class="count">1</)
    })
  }

  it.skipIf(!postgresUrl)(`tells the page when the board cannot be read (postgres${postgresUrl ? '' : ': skipped, no KANBAN_DB_POSTGRES_URL'})`, async () => {
    const { target, writer } = await freshBoard('postgres')
    const server = await serveBoard(target)
    onTestFinished(() => server.close())
    const before = new EventStreamClient(server.url)
    onTestFinished(() => before.close())
    await before.next((m) => m.event === 'board')
    // The control: while the board reads, no problem is reported.
    expect(before.messages.filter((m) => m.event === 'problem')).toEqual([])

    if (target.engine !== 'postgres') throw new Error('a Postgres board was asked for')
    await writer.board.db.schema.dropSchema(target.schema!).cascade().execute()
    const after = new EventStreamClient(server.url)
    onTestFinished(() => after.close())
    const problem = await after.next((m) => m.event === 'problem')
    expect(JSON.parse(problem.data).message).toMatch(/tasks|schema|relation/i)
  })

  it('is read-only by default: no token exists and every action is refused', async () => {
    const { board, server } = await served()
    const task = await blockedTask(board)
    expect(server.token).toBeUndefined()
    const before = await eventCount(board, task.id)

    const refused = await postForm(server.url, `/tasks/${task.id}/unblock`, { token: 'a'.repeat(43) }, { 'X-Kanban-Token': 'a'.repeat(43) })
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('read-only')
    expect((await board.getTask(task.id))!.status).toBe('blocked')
    expect(await eventCount(board, task.id)).toBe(before)
    expect((await send(server.url, { path: `/tasks/${task.id}` })).body).not.toContain('<form')
  })

  it('refuses an action without the token or with a wrong one (nothing changes), and takes it with the token', async () => {
    const { board, server } = await served({ allowActions: true })
    const task = await blockedTask(board)
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const before = await eventCount(board, task.id)
    const json = { Accept: 'application/json' }

    const missing = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, json)
    const wrong = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, { ...json, 'X-Kanban-Token': `${server.token!.slice(0, -1)}x` })
    const wrongField = await postForm(server.url, `/tasks/${task.id}/archive`, { token: 'not-the-token-at-all' })
    expect([missing.status, wrong.status, wrongField.status]).toEqual([403, 403, 403])
    expect(JSON.parse(missing.body).error).toMatch(/token required/i)
    expect(JSON.parse(wrong.body).error).toMatch(/wrong token/i)
    expect((await board.getTask(task.id))!.status).toBe('blocked')
    expect(await eventCount(board, task.id)).toBe(before)

    // The control: the same request with the token goes through.
    const accepted = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, { ...json, 'X-Kanban-Token': server.token! })
    expect(accepted.status).toBe(200)
    expect(JSON.parse(accepted.body).task.status).toBe('ready')
    expect((await board.getTask(task.id))!.status).toBe('ready')

    const reassigned = await postForm(server.url, `/tasks/${task.id}/reassign`, { assignee: 'reviewer', token: server.token! })
    expect(reassigned.status).toBe(303)
    expect(reassigned.headers.location).toBe(`/tasks/${task.id}`)
    expect((await board.getTask(task.id))!.assignee).toBe('reviewer')

    const archived = await postForm(server.url, `/tasks/${task.id}/archive`, { token: server.token! })
    expect(archived.status).toBe(303)
    expect((await board.getTask(task.id))!.status).toBe('archived')

    const again = await postForm(server.url, `/tasks/${task.id}/archive`, { token: server.token! }, json)
    expect(again.status).toBe(409)
  })

  it('escapes board text everywhere: a title with <script> renders as text', async () => {
    const { board, server } = await served({ allowActions: true })
    const evil = `<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"`
    const stream = new EventStreamClient(server.url)
    onTestFinished(() => stream.close())
    await stream.next((m) => m.event === 'board')
    const task = await board.createTask({ title: evil, body: evil, assignee: `<b>${evil}`, meta: { note: evil } })
    await board.addComment(task.id, { body: evil, author: evil })
    await board.block(task.id, evil)

    const escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;'
    const snapshot = await stream.next((m) => m.event === 'board' && m.data.includes('data-status=\\"blocked\\"><h2>blocked <span class=\\"count\\">1'))
    const pages = [
      (await send(server.url)).body,
      (await send(server.url, { path: `/tasks/${encodeURIComponent(task.id)}` })).body,
      (await send(server.url, { path: `/tasks/${encodeURIComponent(task.id)}?fragment=1` })).body,
      (await send(server.url, { path: '/columns' })).body,
      JSON.parse(snapshot.data).columns as string,
    ]
    for (const body of pages) {
      expect(body).toContain(escaped)
      expect(body).not.toContain('<script>alert')
      expect(body).not.toContain('<img src=x')
    }
  })

  it('answers only to its own address: another Host (DNS rebinding) or another Origin is refused, and no CORS header is sent', async () => {
    const { board, server } = await served({ allowActions: true })
    const task = await blockedTask(board)
    const port = new URL(server.url).port
    const token = { 'X-Kanban-Token': server.token!, Accept: 'application/json' }

    const rebound = await send(server.url, { headers: { Host: `attacker.example:${port}` } })
    const otherPort = await send(server.url, { headers: { Host: `127.0.0.1:1` } })
    const noHost = await withoutHost(server.url)
    expect([rebound.status, otherPort.status, noHost]).toEqual([403, 403, 403])
    const rebinding = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, { ...token, Host: `attacker.example:${port}` })
    const crossSite = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, { ...token, Origin: 'http://attacker.example' })
    const nullOrigin = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, { ...token, Origin: 'null' })
    const fetchedCrossSite = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, { ...token, 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' })
    const streamCrossSite = await send(server.url, { path: '/columns', headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'cors' } })
    expect([rebinding.status, crossSite.status, nullOrigin.status, fetchedCrossSite.status, streamCrossSite.status]).toEqual([403, 403, 403, 403, 403])
    expect((await board.getTask(task.id))!.status).toBe('blocked')

    // The control: its own address, as Host and Origin, is answered; so is a link from another site to the page.
    expect((await send(server.url, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' } })).status).toBe(200)
    expect((await send(server.url, { headers: { Host: `localhost:${port}` } })).status).toBe(200)
    const own = await postForm(server.url, `/tasks/${task.id}/unblock`, {}, { ...token, Origin: `http://127.0.0.1:${port}` })
    expect(own.status).toBe(200)
    expect((await board.getTask(task.id))!.status).toBe('ready')
    for (const answer of [rebound, own, await send(server.url, { headers: { Origin: 'http://attacker.example' } })]) {
      expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([])
    }
  })

  it('shows the doctor’s findings as the health panel, in the page and over the stream', async () => {
    const { server } = await served()
    const stream = new EventStreamClient(server.url)
    onTestFinished(() => stream.close())
    const streamed = await stream.next((m) => m.event === 'health' && m.data.includes('data-finding'), 60_000)
    const panel = JSON.parse(streamed.data).html as string
    expect(panel).toMatch(/^<section id="health" class="panel"><h2>Health<\/h2><p class="summary (ok|info|warning|error)">/)
    expect(panel).toContain('data-finding="journal-mode"')
    const page = await send(server.url)
    expect(page.body).toContain('data-finding="journal-mode"')
    expect(page.body).not.toContain('doctor unavailable')
  })

  it('binds to 127.0.0.1 by default and says so when the port is taken', async () => {
    const { server } = await served()
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const { target } = await freshBoard('sqlite')
    await expect(serveBoard(target, { port: Number(new URL(server.url).port) })).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/in use/) })
  })
})

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KanbanDbError } from '@kanban-db/core'
import { openBoardTarget, type BoardTarget } from '../board-target.js'
import { isBoardAction, runAction } from './actions.js'
import { boardPage, columnsHtml, page, type PageContext } from './board-page.js'
import { readColumns } from './board-snapshot.js'
import { BoardFollower } from '../board-follower.js'
import { CLIENT_SCRIPT } from './client-script.js'
import { doctor } from './doctor.js'
import { HEALTH_REFRESH_MS, HealthPanel } from './health-panel.js'
import { html } from './html.js'
import { invalid } from './invalid-input.js'
import { LiveStream, type BoardSnapshot } from './live-stream.js'
import { AddressGuard, newActionToken, tokenMatches } from './request-guard.js'
import { decodePathSegment, MAX_FORM_BYTES, readForm, refuse, SECURITY_HEADERS, send } from './responses.js'
import { STYLES } from './styles.js'
import { readTaskDetail, taskDetailHtml } from './task-detail.js'
import { Throughput, throughputChart } from './throughput.js'

/** What `serveBoard` takes. */
export interface ServeOptions {
  /** The TCP port; 0 (default) picks any free one. */
  readonly port?: number
  /** The address to listen on. Default 127.0.0.1 (this machine only). */
  readonly host?: string
  /** Offer the operator actions (unblock, archive, reassign), each only with the token. Default false: read-only. */
  readonly allowActions?: boolean
  /** The action token (at least 16 characters). Default: 32 random bytes, fresh each start. */
  readonly token?: string
}

/** A running live board. */
export interface RunningBoardServer {
  /** Where to open it, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string
  /** The token actions need, or undefined when actions are off. */
  readonly token: string | undefined
  /** Ends the streams, stops listening and closes the board. */
  close(): Promise<void>
}

const TOKEN_HEADER = 'x-kanban-token'
const TASK_PATH = /^\/tasks\/([^/]+)(?:\/([a-z]+))?$/

/**
 * Serves a live view of the board over HTTP: one column per status with counts, updated from the
 * event log through server-sent events; a task's detail; the doctor's findings; throughput over the
 * last minutes. Read-only by default (the board itself is opened read-only); with `allowActions`,
 * unblock, archive and reassign, each refused with 403 unless the request carries the token (an
 * `X-Kanban-Token` header or a `token` form field). Requests whose Host or Origin is not this
 * server's address are refused (DNS rebinding, other sites); no CORS headers are ever sent.
 */
export async function serveBoard(target: BoardTarget, options: ServeOptions = {}): Promise<RunningBoardServer> {
  const host = options.host ?? '127.0.0.1'
  const allowActions = options.allowActions ?? false
  if (options.token !== undefined && options.token.length < 16) throw invalid('options.token', 'must have at least 16 characters')
  const token = allowActions ? (options.token ?? newActionToken()) : undefined
  const opened = await openBoardTarget(target, { readonly: !allowActions })
  const board = opened.board
  let follower: BoardFollower | undefined
  try {
    follower = await BoardFollower.start(board)
    const throughput = await Throughput.load(board)
    const context: PageContext = { location: board.location, engine: board.engine, allowActions }
    const snapshot = async (): Promise<BoardSnapshot> => {
      const position = follower!.position
      const columns = await readColumns(board)
      return { columns: columnsHtml(columns).text, throughput: throughputChart(throughput.minutes()).text, position }
    }
    const health: HealthPanel = new HealthPanel(target, doctor, () => live.health(health.render().text))
    const live = new LiveStream(snapshot, () => health.render().text)
    follower.onEvents((events) => {
      throughput.add(events)
      live.events(events)
    })
    health.refresh()
    // While a page is open its panel stays current; with none open the doctor rests.
    const healthTimer = setInterval(() => live.size > 0 && health.refresh(), HEALTH_REFRESH_MS / 6)
    healthTimer.unref()

    const server = createServer()
    let guard: AddressGuard | undefined
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) send(response, 500, 'text/plain', `Internal error: ${error instanceof Error ? error.message : String(error)}\n`)
        else response.destroy()
      })
    })

    async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
      if (!guard!.allowsHost(request.headers.host)) return refuse(response, 403, 'This server answers only to its own address (Host header refused).')
      const origin = request.headers.origin
      // A link from another site may open the page (a navigation); nothing else from another site is answered.
      const crossSite = request.headers['sec-fetch-site'] === 'cross-site' && !(request.method === 'GET' && request.headers['sec-fetch-mode'] === 'navigate')
      if (!guard!.allowsOrigin(origin) || crossSite) {
        return refuse(response, 403, 'Requests from other sites are refused.')
      }
      const url = new URL(request.url ?? '/', 'http://localhost')
      const path = url.pathname
      if (request.method === 'POST') return post(request, response, path)
      if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(response, 405, 'Only GET, HEAD and POST are answered.')

      if (path === '/') {
        health.refresh()
        const body = boardPage(context, { columns: columnsHtml(await readColumns(board)), throughput: throughputChart(throughput.minutes()), health: health.render() })
        return send(response, 200, 'text/html', body.text)
      }
      if (path === '/app.css') return send(response, 200, 'text/css', STYLES)
      if (path === '/app.js') return send(response, 200, 'text/javascript', CLIENT_SCRIPT)
      if (path === '/favicon.ico') return send(response, 204, 'text/plain', '')
      if (path === '/events') return live.attach(request, response, SECURITY_HEADERS)
      if (path === '/health') {
        health.refresh()
        return send(response, 200, 'text/html', health.render().text)
      }
      if (path === '/columns') return send(response, 200, 'text/html', columnsHtml(await readColumns(board)).text)
      const match = TASK_PATH.exec(path)
      if (match && match[2] === undefined) {
        const taskId = decodePathSegment(match[1]!)
        const detail = await readTaskDetail(board, taskId)
        if (!detail) return refuse(response, 404, `No task has the id ${taskId}.`)
        const fragment = taskDetailHtml(detail, allowActions)
        if (url.searchParams.get('fragment') === '1') return send(response, 200, 'text/html', fragment.text)
        return send(response, 200, 'text/html', page(context, detail.task.title, html`<main class="single">${fragment}</main>`).text)
      }
      return refuse(response, 404, 'Nothing here.')
    }

    async function post(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
      const wantsJson = (request.headers.accept ?? '').includes('application/json')
      const answer = (status: number, message: string) =>
        wantsJson ? send(response, status, 'application/json', JSON.stringify({ error: message })) : refuse(response, status, message)
      const match = TASK_PATH.exec(path)
      if (!match || match[2] === undefined || !isBoardAction(match[2])) return answer(404, 'No such action.')
      if (!allowActions || token === undefined) return answer(403, 'This board is served read-only: start it with --actions to allow actions.')
      const form = await readForm(request)
      if (form === undefined) return answer(413, `The form is larger than ${MAX_FORM_BYTES} bytes.`)
      const headerToken = request.headers[TOKEN_HEADER]
      const given = (typeof headerToken === 'string' && headerToken !== '' ? headerToken : undefined) ?? form.get('token') ?? undefined
      if (!tokenMatches(given, token)) {
        return answer(403, given ? 'Wrong token: nothing was changed.' : 'Token required: enter the token printed when the board was served.')
      }
      const taskId = decodePathSegment(match[1]!)
      let task
      try {
        task = await runAction(board, taskId, match[2], form)
      } catch (error) {
        if (!KanbanDbError.isKanbanDbError(error)) throw error
        const status = error.code === 'TASK_NOT_FOUND' ? 404 : error.code === 'INVALID_INPUT' ? 400 : 409
        return answer(status, error.message)
      }
      follower!.check()
      if (wantsJson) return send(response, 200, 'application/json', JSON.stringify({ task: { id: task.id, status: task.status, assignee: task.assignee } }))
      response.writeHead(303, { ...SECURITY_HEADERS, Location: `/tasks/${encodeURIComponent(task.id)}` })
      response.end()
    }

    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error: NodeJS.ErrnoException) =>
          reject(
            error.code === 'EADDRINUSE'
              ? invalid('options.port', `${host}:${options.port} is in use by another program (choose another port, or 0 for any free one)`, error)
              : error,
          ),
        )
        server.listen(options.port ?? 0, host, () => resolve())
      })
    } catch (error) {
      clearInterval(healthTimer)
      live.close()
      await health.close()
      throw error
    }
    const port = (server.address() as AddressInfo).port
    guard = new AddressGuard(host, port)
    const shownHost = host.includes(':') ? `[${host}]` : host
    const f = follower
    let closing: Promise<void> | undefined
    return {
      url: `http://${shownHost}:${port}/`,
      token,
      close: () =>
        (closing ??= (async () => {
          clearInterval(healthTimer)
          live.close()
          await new Promise<void>((resolve) => {
            server.close(() => resolve())
            server.closeAllConnections()
          })
          await f.close()
          await health.close()
          await board.close()
        })()),
    }
  } catch (error) {
    await follower?.close()
    await board.close()
    throw error
  }
}

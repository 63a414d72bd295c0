import type { IncomingMessage, ServerResponse } from 'node:http'
import { escapeHtml } from './html.js'

/** Largest form body an action accepts. */
export const MAX_FORM_BYTES = 16 * 1024

/** Headers on every response: no framing, no sniffing, nothing loaded from elsewhere, nothing cached. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
}

/** A path segment decoded; a malformed escape stays as written (no task has such an id). */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Answers with `body` as `type` (UTF-8) and the security headers; a HEAD gets the headers alone. */
export function send(response: ServerResponse, status: number, type: string, body: string): void {
  const bytes = Buffer.from(body, 'utf8')
  response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': `${type}; charset=utf-8`, 'Content-Length': String(bytes.length) })
  response.end(response.req.method === 'HEAD' ? undefined : bytes)
}

/** Answers with a short HTML page saying why (escaped). */
export function refuse(response: ServerResponse, status: number, message: string): void {
  send(response, status, 'text/html', `<!doctype html><meta charset="utf-8"><title>${status}</title><p>${escapeHtml(message)}</p>\n`)
}

/** The posted form (urlencoded; an empty body is an empty form), or undefined past {@link MAX_FORM_BYTES}. */
export async function readForm(request: IncomingMessage): Promise<URLSearchParams | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= MAX_FORM_BYTES) chunks.push(chunk)
  }
  if (size > MAX_FORM_BYTES) return undefined
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}


import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'

/**
 * Which Host and Origin headers the live board answers: only its own address. A web page on
 * another site that makes the browser resolve its name to 127.0.0.1 (DNS rebinding) sends its own
 * name as Host and is refused; so is any cross-site Origin, so no other page can read or act.
 */
export class AddressGuard {
  private readonly hosts: ReadonlySet<string>
  private readonly anyAddress: boolean

  constructor(boundHost: string, private readonly port: number) {
    const host = bracketed(boundHost.toLowerCase())
    this.anyAddress = host === '0.0.0.0' || host === '[::]'
    const loopback = host === 'localhost' || host === '[::1]' || host.startsWith('127.')
    this.hosts = new Set([host, ...(loopback ? ['localhost'] : [])])
  }

  /** True when `host` (a Host header) names this server: its bound address (or localhost on loopback) and port. */
  allowsHost(host: string | undefined): boolean {
    if (!host) return false
    let url: URL
    try {
      url = new URL(`http://${host}`)
    } catch {
      return false
    }
    if (url.host !== host.toLowerCase() || Number(url.port || 80) !== this.port) return false
    const name = url.hostname
    if (this.hosts.has(name)) return true
    // Bound to every interface: any address literal, never a name (names are what rebinding forges).
    return this.anyAddress && isIP(name.replace(/^\[|\]$/g, '')) !== 0
  }

  /** True when `origin` (an Origin header) is absent or this server's own; `null` origins are refused. */
  allowsOrigin(origin: string | undefined): boolean {
    if (origin === undefined) return true
    if (!origin.startsWith('http://')) return false
    return this.allowsHost(origin.slice('http://'.length))
  }
}

function bracketed(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host
}

/** A fresh action token: 32 random bytes, URL-safe. */
export function newActionToken(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * True when `given` is the action token. Compares digests in constant time, so the time taken says
 * nothing about how much of a guess was right.
 */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  const a = createHash('sha256').update(given ?? '').digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b) && given !== undefined && given.length > 0
}

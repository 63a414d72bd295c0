import pg from 'pg'
import { quoteIdentifier } from '../board-names.js'

/**
 * The LISTEN side of cross-process wake-ups: one dedicated connection (outside the pools, which
 * would hand it to other work) that LISTENs on the board's channel and calls `notify` for each
 * notification. Started lazily by the first `onWake`; when its connection breaks it reconnects with
 * backoff and LISTENs again; stopped at close.
 *
 * `notify` is also called each time the LISTEN takes effect (the first time and after every
 * reconnect): a task made ready while nobody listened would otherwise wait for the next one.
 */
export class WakeListener {
  readonly #config: pg.ClientConfig
  readonly #channel: string
  readonly #notify: () => void
  #client: pg.Client | undefined
  #started = false
  #closed = false
  #failures = 0
  #retry: NodeJS.Timeout | undefined
  /** The connection attempt under way, awaited by close() so no connection outlives the engine. */
  #connecting: Promise<void> | undefined
  readonly #dead = new WeakSet<pg.Client>()

  constructor(config: pg.ClientConfig, channel: string, notify: () => void) {
    this.#config = config
    this.#channel = channel
    this.#notify = notify
  }

  /** True while a LISTEN is in effect. */
  get listening(): boolean {
    return this.#client !== undefined
  }

  /** Starts listening (once; later calls do nothing). */
  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#reconnect()
  }

  /** Stops listening and closes the connection. Twice is a no-op. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#retry)
    await this.#connecting
    const client = this.#client
    this.#client = undefined
    if (client) {
      this.#dead.add(client)
      await client.end().catch(() => {})
    }
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config)
    client.on('error', () => this.#lost(client))
    client.on('end', () => this.#lost(client))
    client.on('notification', (message) => {
      if (message.channel === this.#channel) this.#notify()
    })
    try {
      await client.connect()
      await client.query(`LISTEN ${quoteIdentifier(this.#channel)}`)
    } catch {
      this.#lost(client)
      return
    }
    if (this.#closed || this.#dead.has(client)) {
      this.#dead.add(client)
      await client.end().catch(() => {})
      return
    }
    this.#client = client
    this.#failures = 0
    this.#notify()
  }

  /** The connection broke (or never came up): drop it and try again after a pause. */
  #lost(client: pg.Client): void {
    if (this.#dead.has(client)) return
    this.#dead.add(client)
    if (this.#client === client) this.#client = undefined
    client.end().catch(() => {})
    if (this.#closed) return
    // 100 ms doubling to 5 s, jittered: a restarting server is not hammered by every listener at once.
    const pause = Math.min(5000, 100 * 2 ** Math.min(this.#failures++, 6)) * (0.5 + Math.random())
    this.#retry = setTimeout(() => this.#reconnect(), pause)
    this.#retry.unref()
  }

  #reconnect(): void {
    const connecting = this.#connect()
    this.#connecting = connecting
    void connecting.finally(() => {
      if (this.#connecting === connecting) this.#connecting = undefined
    })
  }
}

/**
 * How a child task talks to the case that started it, while it runs. A task that only computes a
 * result ignores its channel; a task that must report progress (each acknowledged commit, "I hold
 * the lock now") or wait for the parent's word ("release it") uses it. Parent and child coordinate
 * only through these messages, never by sleeping.
 */
export interface TaskChannel {
  /** Sends `value` to the parent; resolves once it has left this process (IPC flushed). */
  send(value: unknown): Promise<void>
  /** Resolves with the next message the parent sends, in order. */
  receive(): Promise<unknown>
}

/** What the parent sends first: which task to run, with which subject. */
export interface StartMessage {
  readonly kind: 'start'
  readonly task: string
  readonly args: Record<string, unknown>
  /** The subject's module: a SQLite adapter the child loads, or the Postgres engine package. */
  readonly moduleName: string
  readonly resolveFrom: string
  /** The subject's engine (default `sqlite`). A `postgres` child loads no SQLite adapter. */
  readonly engine?: 'sqlite' | 'postgres'
}

/** A message between parent and task while the task runs. */
export interface ChannelMessage {
  readonly kind: 'message'
  readonly value: unknown
}

/** What the task sends last. */
export type ResultMessage =
  | { readonly kind: 'result'; readonly ok: true; readonly value: unknown }
  | { readonly kind: 'result'; readonly ok: false; readonly error: string }

/** Any message a task sends to its parent. */
export type TaskMessage = ChannelMessage | ResultMessage

/** A FIFO of incoming messages with waiters, used on both sides of a channel. */
export class MessageQueue {
  readonly #values: unknown[] = []
  readonly #waiters: Array<{ resolve: (value: unknown) => void; reject: (error: Error) => void }> = []
  #closed: Error | undefined

  /** Delivers `value` to the oldest waiter, or keeps it for the next `take`. */
  push(value: unknown): void {
    const waiter = this.#waiters.shift()
    if (waiter) waiter.resolve(value)
    else this.#values.push(value)
  }

  /** The next value, in order. Rejects with the close reason once closed and empty. */
  take(): Promise<unknown> {
    if (this.#values.length > 0) return Promise.resolve(this.#values.shift())
    if (this.#closed) return Promise.reject(this.#closed)
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /** No more values will come: current and later waiters reject with `reason`. */
  close(reason: Error): void {
    if (this.#closed) return
    this.#closed = reason
    for (const waiter of this.#waiters.splice(0)) waiter.reject(reason)
  }
}

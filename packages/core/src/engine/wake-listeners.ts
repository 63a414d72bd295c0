import { InvalidInput } from '../errors/errors.js'

/**
 * The `onWake` listeners of one engine, for every engine (exported for engine implementors).
 * Calling them never throws: a listener that throws is
 * reported as a process warning and the others still run.
 */
export class WakeListeners {
  readonly #listeners = new Set<() => void>()

  /** Adds `listener`; returns its unsubscribe (twice is a no-op). */
  add(listener: () => void): () => void {
    if (typeof listener !== 'function') throw new InvalidInput('onWake needs a function () => void.', { details: { field: 'listener' } })
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry = (): void => listener()
    this.#listeners.add(entry)
    return () => void this.#listeners.delete(entry)
  }

  /** How many are subscribed. */
  get size(): number {
    return this.#listeners.size
  }

  /** Calls every listener once. */
  notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener()
      } catch (error) {
        process.emitWarning(`kanban-db: an onWake listener threw: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
      }
    }
  }

  /** Forgets every listener (at close). */
  clear(): void {
    this.#listeners.clear()
  }
}

import type { NamedLock } from '@kanban-db/core/adapter'

/**
 * Named locks for PGlite boards. PGlite is one Postgres session inside one process, and advisory
 * locks are re-entrant within a session, so `pg_try_advisory_lock` would grant every caller; the
 * locks are kept in this process instead, per PGlite instance (two engines on one instance share
 * them), and vanish with the process like a server session's would.
 */
export class InProcessLocks {
  readonly #held: Set<string>
  readonly #schema: string

  constructor(instance: object, schema: string) {
    let held = heldByInstance.get(instance)
    if (!held) {
      held = new Set()
      heldByInstance.set(instance, held)
    }
    this.#held = held
    this.#schema = schema
  }

  /** Takes the lock without waiting; undefined when it is held (by this engine or another on the instance). */
  tryLock(name: string): NamedLock | undefined {
    const key = `${this.#schema}\u0000${name}`
    if (this.#held.has(key)) return undefined
    this.#held.add(key)
    let released = false
    const lock: NamedLock = {
      release: async () => {
        if (released) return
        released = true
        this.#held.delete(key)
        this.#mine.delete(lock)
      },
    }
    this.#mine.add(lock)
    return lock
  }

  /** Releases this engine's locks (at close). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#mine].map((lock) => lock.release()))
  }

  readonly #mine = new Set<NamedLock>()
}

const heldByInstance = new WeakMap<object, Set<string>>()

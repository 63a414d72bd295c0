import type pg from 'pg'
import type { NamedLock } from '@kanban-db/core/adapter'
import { NAMED_LOCK_KEYS } from '../board-names.js'

/**
 * Named cross-process locks on a server: a session-level advisory lock keyed by the board's schema
 * and the name (`pg_try_advisory_lock(hashtext(schema), hashtext(name))`), held on a client checked
 * out of the pool for as long as the lock is held. Nothing is written anywhere: when the holder's
 * process dies, or its session is terminated, the server drops the lock with the session.
 */
export class AdvisoryLocks {
  readonly #pool: pg.Pool
  readonly #schema: string
  readonly #held = new Set<HeldLock>()

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool
    this.#schema = schema
  }

  /** Takes the lock without waiting; undefined when another session holds it. */
  async tryLock(name: string): Promise<NamedLock | undefined> {
    const client = await this.#pool.connect()
    let locked: boolean
    try {
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${NAMED_LOCK_KEYS}) AS locked`, [this.#schema, name])
      locked = rows[0]?.locked === true
    } catch (error) {
      client.release(error instanceof Error ? error : true)
      throw error
    }
    if (!locked) {
      client.release()
      return undefined
    }
    const lock = new HeldLock(client, this.#schema, name, () => this.#held.delete(lock))
    this.#held.add(lock)
    return lock
  }

  /** Releases every lock still held (the engine is closing; the pool cannot end while they hold clients). */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#held].map((lock) => lock.release()))
  }
}

/** One held lock and the client whose session holds it. */
class HeldLock implements NamedLock {
  readonly #client: pg.PoolClient
  readonly #schema: string
  readonly #name: string
  readonly #forget: () => void
  #released: Promise<void> | undefined

  constructor(client: pg.PoolClient, schema: string, name: string, forget: () => void) {
    this.#client = client
    this.#schema = schema
    this.#name = name
    this.#forget = forget
  }

  release(): Promise<void> {
    this.#released ??= this.#unlock()
    return this.#released
  }

  async #unlock(): Promise<void> {
    try {
      await this.#client.query(`SELECT pg_advisory_unlock(${NAMED_LOCK_KEYS})`, [this.#schema, this.#name])
      this.#client.release()
    } catch (error) {
      // The session is gone (terminated, server restarted), and the lock went with it: discard the
      // client. Releasing a lock that is no longer held is not an error for the caller.
      this.#client.release(error instanceof Error ? error : true)
    } finally {
      this.#forget()
    }
  }
}

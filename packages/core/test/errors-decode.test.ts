import { describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { KanbanDbError, NotADatabase, openBoard } from '@kanban-db/core'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { tempDir } from './temp-dir.js'

/** What a driver with an error shape of its own throws: no `code`, no `errcode`, not SQLite's message. */
class LibFooError extends Error {
  constructor(readonly status: string, options: { cause: unknown }) {
    super('libfoo: the call failed', options)
  }
}

/**
 * A real better-sqlite3 adapter whose statements throw LibFooError instead of the driver's error,
 * as another driver would: fault shape at the driver boundary, a real database underneath.
 */
async function libFooAdapter(name: string, withDecoder: boolean): Promise<SqliteAdapter> {
  const real = await createBetterSqlite3()
  const reshape = (error: unknown): never => {
    throw new LibFooError(String((error as { code?: unknown }).code).replace(/^SQLITE_/, ''), { cause: error })
  }
  // Every call of the connection and of its statements throws LibFooError for the driver's error.
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property) as unknown
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          try {
            const result = (value as (...args: unknown[]) => unknown).apply(object, args)
            return property === 'prepare' ? wrap(result as object) : result
          } catch (error) {
            return reshape(error)
          }
        }
      },
    })
  return {
    ...real,
    identity: { ...real.identity, name },
    open: async (path, options) => wrap(await real.open(path, options)),
    probeJournalMode: (connection) => {
      try {
        return real.probeJournalMode(connection)
      } catch (error) {
        return reshape(error)
      }
    },
    ...(withDecoder ? { decodeError: (error: unknown) => (error instanceof LibFooError ? { code: `SQLITE_${error.status}` } : undefined) } : {}),
  }
}

describe("an adapter's decodeError", () => {
  it('names the errors of a driver with its own error shape (control: without it they stay unnamed)', async () => {
    const dir = tempDir()
    const path = join(dir, 'not-a-db.db')
    writeFileSync(path, 'this is plain text, not a SQLite file'.repeat(200))

    // Control first (decoders are process-wide once registered): core cannot read LibFooError.
    const control = await openBoard({ path, adapter: await libFooAdapter('libfoo-raw', false) }).catch((error: unknown) => error)
    expect(control).toBeInstanceOf(LibFooError)
    expect(KanbanDbError.isKanbanDbError(control)).toBe(false)

    const decoded = await openBoard({ path, adapter: await libFooAdapter('libfoo', true) }).catch((error: unknown) => error)
    expect(decoded).toBeInstanceOf(NotADatabase)
    expect((decoded as NotADatabase).sqliteCode).toBe('SQLITE_NOTADB')
    expect((decoded as NotADatabase).cause).toBeInstanceOf(LibFooError)
  })
})

import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import createBetterSqlite3Adapter from '@kanban-db/adapter-better-sqlite3'
import createSqlJsAdapter from '@kanban-db/adapter-sql-js'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { allCases, runCase, type ConformanceCase } from '@kanban-db/conformance'

/** Cases must be able to fail: each is run here against an adapter that breaks its promise. */
const root = fileURLToPath(new URL('../../../', import.meta.url))
const sqlJs = await createSqlJsAdapter()

function caseById(id: string): ConformanceCase {
  const found = allCases.find((testCase) => testCase.id === id)
  if (!found) throw new Error(`no case ${id}`)
  return found
}

describe('core.capability-manifest', () => {
  it('is not fooled by an engine that answers journal_mode=wal but shares nothing', async () => {
    const liar = { ...sqlJs, capabilities: { ...sqlJs.capabilities, sharedFile: true, wal: true } }
    const result = await runCase(caseById('core.capability-manifest'), liar, '@kanban-db/adapter-sql-js', { resolveFrom: root })
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/declares sharedFile, wal but does not show it/)
    expect(result.detail).toMatch(/journal_mode=WAL answered 'wal'; -wal holds 0 bytes; another process sees the commit: false/)
  })
})

describe('corruption.malformed-file', () => {
  it('fails against an adapter that "repairs" an unreadable file by starting a fresh one', async () => {
    const { rmSync } = await import('node:fs')
    const reinitialising = {
      ...sqlJs,
      open: async (path: string, options?: { readonly readonly?: boolean }) => {
        const connection = await sqlJs.open(path, options)
        try {
          connection.prepare('select count(*) from sqlite_schema').all([])
          return connection
        } catch {
          connection.close()
          rmSync(path, { force: true }) // the naive "recovery" this case exists to catch
          return sqlJs.open(path, options)
        }
      },
    }
    const result = await runCase(caseById('corruption.malformed-file'), reinitialising, '@kanban-db/adapter-sql-js', { resolveFrom: root })
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/bad magic/)
  })
})

describe('txn.begin-immediate', () => {
  it('fails when the write path starts its transactions with a deferred BEGIN', async () => {
    const real = await createBetterSqlite3Adapter()
    const deferred: SqliteAdapter = {
      ...real,
      open: async (path, options) => {
        const connection = await real.open(path, options)
        return {
          get path() {
            return connection.path
          },
          get isOpen() {
            return connection.isOpen
          },
          get inTransaction() {
            return connection.inTransaction
          },
          prepare: (sql) => connection.prepare(sql),
          exec: (sql) => connection.exec(sql.replace(/^\s*BEGIN IMMEDIATE\b/i, 'BEGIN')),
          backup: (destination) => connection.backup(destination),
          close: () => connection.close(),
        }
      },
    }
    const result = await runCase(caseById('txn.begin-immediate'), deferred, '@kanban-db/adapter-better-sqlite3', { resolveFrom: root })
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/another process took the write lock while a board write transaction was open/)
  })
})

describe('core.board-lifecycle', () => {
  it('fails on a board that loses one event (a promotion writes no event)', async () => {
    const real = await createBetterSqlite3Adapter()
    const dropsPromotions = (sql: string, parameters: readonly unknown[]) => /insert into "events"/i.test(sql) && parameters.includes('promoted')
    const lossy: SqliteAdapter = {
      ...real,
      open: async (path, options) => {
        const connection = await real.open(path, options)
        return {
          get path() {
            return connection.path
          },
          get isOpen() {
            return connection.isOpen
          },
          get inTransaction() {
            return connection.inTransaction
          },
          prepare: (sql) => {
            const statement = connection.prepare(sql)
            return {
              reader: statement.reader,
              all: (parameters) => (dropsPromotions(sql, parameters) ? [] : statement.all(parameters)),
              run: (parameters) => (dropsPromotions(sql, parameters) ? { changes: 1, lastInsertRowid: 0 } : statement.run(parameters)),
              finalize: () => statement.finalize(),
            }
          },
          exec: (sql) => connection.exec(sql),
          backup: (destination) => connection.backup(destination),
          close: () => connection.close(),
        }
      },
    }
    const result = await runCase(caseById('core.board-lifecycle'), lossy, '@kanban-db/adapter-better-sqlite3', { resolveFrom: root })
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/the event log is not one event per change, in order/)
  })
})

const betterSqlite3 = await createBetterSqlite3Adapter()

describe('core.decode-error-real-errors', () => {
  const run = (adapter: SqliteAdapter) => runCase(caseById('core.decode-error-real-errors'), adapter, '@kanban-db/adapter-better-sqlite3', { resolveFrom: root })

  it('passes on the real decoder (the control of the two below)', async () => {
    expect((await run(betterSqlite3)).status).toBe('pass')
  })

  it('fails on a decoder that names errors by their message, so a plain Error saying "database is locked" is taken for SQLite\'s', async () => {
    const byMessage: SqliteAdapter = {
      ...betterSqlite3,
      decodeError: (error) => betterSqlite3.decodeError?.(error) ?? (error instanceof Error && /database is locked/.test(error.message) ? { code: 'SQLITE_BUSY' } : undefined),
    }
    const result = await run(byMessage)
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/decodeError named Error/)
  })

  it('fails on a decoder that cuts extended constraint codes to the primary one', async () => {
    const primaryOnly: SqliteAdapter = {
      ...betterSqlite3,
      decodeError: (error) => {
        const decoded = betterSqlite3.decodeError?.(error)
        return decoded === undefined ? undefined : { ...decoded, code: decoded.code.replace(/^(SQLITE_CONSTRAINT)_.*/, '$1') }
      },
    }
    const result = await run(primaryOnly)
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/UNIQUE violation through exec: decodeError gave \{"code":"SQLITE_CONSTRAINT"\}/)
  })

  it('is skipped, saying why, for an adapter without a decoder', async () => {
    const { decodeError: _none, ...withoutDecoder } = betterSqlite3
    const result = await run(withoutDecoder)
    expect(result.status).toBe('skip')
    expect(result.detail).toMatch(/has no decodeError/)
  })
})

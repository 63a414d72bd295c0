import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import createSqlJsAdapter from '@kanban-db/adapter-sql-js'
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

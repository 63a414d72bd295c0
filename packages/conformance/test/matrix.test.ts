import { describe, expect, it } from 'vitest'
import { formatMatrix, type AdapterReport, type CaseResult } from '@kanban-db/conformance'

function result(id: string, tier: CaseResult['tier'], status: CaseResult['status'], detail = ''): CaseResult {
  return { id, tier, title: id, status, ms: 1, detail, notes: [] }
}

const adapter = (name: string, results: CaseResult[]): AdapterReport => ({ name, moduleName: name, driverVersion: '1', sqliteVersion: '3.x', results })

describe('formatMatrix', () => {
  it('groups rows by tier, gives every non-pass cell its reason, and counts statuses', () => {
    const text = formatMatrix({
      adapters: [
        adapter('a', [result('txn.x', 'txn', 'pass'), result('core.y', 'core', 'fail', 'broke'), result('corruption.z', 'corruption', 'xfail', 'known failure (bug): boom')]),
        adapter('b', [result('txn.x', 'txn', 'skip', 'adapter lacks wal'), result('core.y', 'core', 'xpass', 'known failure passed'), result('corruption.z', 'corruption', 'pass')]),
      ],
    })
    const lines = text.split('\n')
    expect(lines.slice(2, 5).map((line) => line.split(/\s+/)[0])).toEqual(['core.y', 'txn.x', 'corruption.z'])
    expect(lines[2]).toMatch(/core\.y\s+core\s+FAIL\s+XPASS/)
    expect(text).toContain('FAIL a core.y: broke')
    expect(text).toContain('skip b txn.x: adapter lacks wal')
    expect(text).toContain('XPASS b core.y: known failure passed')
    expect(text).toContain('xfail a corruption.z: known failure (bug): boom')
    expect(lines.at(-1)).toBe('2 pass, 1 fail, 1 skip, 1 xfail, 1 xpass')
  })

  it('heads each column with the engine and its version', () => {
    const text = formatMatrix({
      adapters: [
        adapter('better-sqlite3', [result('core.x', 'core', 'pass')]),
        { name: 'postgres', moduleName: '@kanban-db/adapter-postgres', engine: 'postgres', engineVersion: '15.14', driverVersion: '8.23.1', results: [result('core.x', 'core', 'pass')] },
        { name: 'postgres', moduleName: '@kanban-db/adapter-postgres', engine: 'postgres', engineVersion: '?', driverVersion: '8.23.1', results: [result('core.x', 'core', 'skip', 'no server')] },
      ],
    })
    expect(text.split('\n')[0]).toMatch(/^case\s+tier\s+better-sqlite3 \(SQLite 3\.x\)\s+postgres \(PostgreSQL 15\.14\)\s+postgres \(PostgreSQL, no server\)$/)
  })
})

import { describe, expect, it } from 'vitest'
import { postgres, pglite } from '../src/index.js'
import { boardPoolConfig, describeServerLocation } from '../src/server/pool-config.js'
import { resolvePostgresConfig } from '../src/config.js'
import { wakeChannel } from '../src/board-names.js'

describe('postgres engine config', () => {
  it('refuses a schema that is not a plain identifier, saying what to use', () => {
    for (const schema of ['Kanban', 'my-board', '1board', '', 'a'.repeat(64), 'x; DROP SCHEMA public', 'sch"ema']) {
      let error: unknown
      try {
        postgres({ schema })
      } catch (failure) {
        error = failure
      }
      expect(error).toMatchObject({ code: 'INVALID_INPUT', details: { field: 'schema' } })
      expect((error as Error).message).toMatch(/like 'kanban'/)
    }
    expect(() => pglite({ schema: 'Kanban' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(postgres({ schema: `_${'a'.repeat(62)}` }).kind).toBe('postgres')
  })

  it('refuses bad pool sizes, timeouts and connection strings without echoing the string', () => {
    expect(() => postgres({ poolSize: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(() => postgres({ poolSize: 2.5 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(() => postgres({ statementTimeoutMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(() => postgres({ connectionString: '' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(() => postgres({ pool: 'host=x' as never })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
  })

  it('applies defaults: schema kanban, 10 connections, no statement timeout', () => {
    expect(resolvePostgresConfig({})).toMatchObject({ schema: 'kanban', poolSize: 10, statementTimeoutMs: undefined })
    expect(resolvePostgresConfig({ pool: { max: 4 } }).poolSize).toBe(4)
    expect(resolvePostgresConfig({ pool: { max: 4 }, poolSize: 6 }).poolSize).toBe(6)
  })

  it('names server, database and schema in the location, never the password (nor the user)', () => {
    const config = boardPoolConfig(resolvePostgresConfig({ connectionString: 'postgresql://alice:s3cret@db.example:6543/boards', schema: 'team_a' }), false, 40_000)
    const location = describeServerLocation(config, 'team_a')
    expect(location).toBe('postgres db.example:6543/boards schema team_a')
    expect(location).not.toContain('s3cret')
    expect(location).not.toContain('alice')
    const socket = boardPoolConfig(resolvePostgresConfig({ pool: { host: '/run/postgresql', database: 'kb', password: 'pw' } }), false, 40_000)
    expect(describeServerLocation(socket, 'kanban')).toBe('postgres /run/postgresql:5432/kb schema kanban')
  })

  it("runs connections in the board's schema, read-only when asked, with the URL's own startup options kept", () => {
    const plain = boardPoolConfig(resolvePostgresConfig({ connectionString: 'postgresql://h/db', schema: 's1', statementTimeoutMs: 500 }), false, 40_000)
    expect(plain).toMatchObject({ options: '-c search_path=s1', statement_timeout: 500, application_name: 'kanban-db', idle_in_transaction_session_timeout: 40_000 })
    const readonly = boardPoolConfig(resolvePostgresConfig({ connectionString: 'postgresql://h/db?options=-c%20work_mem%3D8MB', schema: 's1' }), true, 40_000)
    expect(readonly.options).toBe('-c work_mem=8MB -c search_path=s1 -c default_transaction_read_only=on')
    expect(readonly.connectionString).toBe('postgresql://h/db')
  })

  it('keeps wake channel names within 63 bytes and distinct per schema', () => {
    expect(wakeChannel('kanban')).toBe('kanban_db_wake_kanban')
    const long = wakeChannel(`a${'b'.repeat(62)}`)
    const other = wakeChannel(`a${'b'.repeat(61)}c`)
    expect(long.length).toBeLessThanOrEqual(63)
    expect(long).not.toBe(other)
  })
})

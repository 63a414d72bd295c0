import { describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Busy, Corrupt, NotADatabase, TransientIO, type SqliteAdapter } from '@kanban-db/core'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import { checkBoard, classifyFailure, fingerprintFile, probeBoardFile, sameFingerprint } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { createSampleDatabase, fileHash, writeGarbageIntoPage } from './fixtures.js'

describe('classifyFailure', () => {
  it('separates corruption from transient errors, and never reads lock or busy errors as corruption', () => {
    expect(classifyFailure(new Corrupt('x'))).toBe('corruption')
    expect(classifyFailure(new NotADatabase('x'))).toBe('corruption')
    expect(classifyFailure({ code: 'SQLITE_CORRUPT_INDEX', message: 'x' })).toBe('corruption')
    expect(classifyFailure({ errcode: 26, message: 'file is not a database' })).toBe('corruption')
    expect(classifyFailure(new Error('database disk image is malformed'))).toBe('corruption')
    expect(classifyFailure(new TransientIO('x'))).toBe('transient')
    expect(classifyFailure({ code: 'SQLITE_IOERR_SHORT_READ', message: 'x' })).toBe('transient')
    expect(classifyFailure({ errcode: 5, message: 'database is locked' })).toBe('transient')
    expect(classifyFailure({ errcode: 6, message: 'database table is locked' })).toBe('transient')
    // A busy error that wraps a corruption-looking cause is still busy.
    expect(classifyFailure(new Busy('database disk image is malformed', { cause: new Corrupt('x') }))).toBe('transient')
    // Wrapped corruption is found through `cause`.
    expect(classifyFailure(new Error('claiming failed', { cause: { code: 'SQLITE_CORRUPT', message: 'x' } }))).toBe('corruption')
    expect(classifyFailure(new TypeError('a bug'))).toBe('other')
  })
})

describe('checkBoard through a bare connection', () => {
  for (const { name, create } of bundledAdapters) {
    it(`${name}: a healthy file reports ok with header facts, page_count x page_size and the WAL size`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const pageSize = await createSampleDatabase(adapter, path)
      const connection = await adapter.open(path)
      try {
        connection.prepare('INSERT INTO t (v) VALUES (?)').run(['one more'])
        const report = await checkBoard(connection)
        expect(report.problems).toEqual([])
        expect(report.ok).toBe(true)
        expect(report.corrupt).toBe(false)
        expect(report.header.magicOk).toBe(true)
        expect(report.header.pageSize).toBe(pageSize)
        expect(report.pageCount).toBeGreaterThan(10)
        expect(report.databaseBytes).toBe(report.pageCount * pageSize)
        expect(report.content).toEqual({ kind: 'quick_check', ok: true, messages: ['ok'] })
        if (adapter.capabilities.wal) {
          expect(report.journalMode).toBe('wal')
          expect([report.header.writeVersion, report.header.readVersion]).toEqual([2, 2])
          expect(report.walBytes).toBeGreaterThan(0)
        }
        const integrity = await checkBoard(connection, { integrity: true })
        expect(integrity.content.kind).toBe('integrity_check')
        expect(integrity.ok).toBe(true)
      } finally {
        connection.close()
      }
    })

    it(`${name}: a garbage b-tree page is reported as corrupt, not thrown`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const pageSize = await createSampleDatabase(adapter, path)
      writeGarbageIntoPage(path, 5, pageSize)
      const connection = await adapter.open(path)
      try {
        const report = await checkBoard(connection)
        expect(report.corrupt).toBe(true)
        expect(report.ok).toBe(false)
        expect(report.content.ok).toBe(false)
        expect(report.problems.length).toBeGreaterThan(0)
      } finally {
        connection.close()
      }
    })

    it(`${name}: a file that is not a database is reported with a bad magic`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      writeFileSync(path, Buffer.alloc(8192, 'not a database, just text. '))
      const connection = await adapter.open(path, { readonly: true })
      try {
        const report = await checkBoard(connection)
        expect(report.corrupt).toBe(true)
        expect(report.header.magicOk).toBe(false)
        expect(report.problems.join('\n')).toMatch(/not a database/i)
      } finally {
        connection.close()
      }
    })
  }

  for (const { name, create } of bundledAdapters.filter((entry) => entry.name !== 'sql.js')) {
    it(`${name}: the quiet check agrees after a finished TRUNCATE checkpoint, and is skipped (no false alarm) while a reader pins the WAL`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const pageSize = await createSampleDatabase(adapter, path)
      const writer = await adapter.open(path)
      const reader = await adapter.open(path)
      try {
        writer.prepare('INSERT INTO t (v) VALUES (?)').run(['grow the wal'.padEnd(3000, 'y')])
        // A reader holding an old snapshot: a TRUNCATE checkpoint cannot finish (facts §3, §5).
        reader.exec('BEGIN')
        reader.prepare('SELECT count(*) FROM t').all([])
        writer.exec('BEGIN IMMEDIATE')
        for (let i = 0; i < 50; i += 1) writer.prepare('INSERT INTO t (v) VALUES (?)').run([`more ${i}`.padEnd(900, 'z')])
        writer.exec('COMMIT')
        const pinned = await checkBoard(writer, { quiet: true })
        expect(pinned.quiet?.busy).toBe(1)
        expect(pinned.quiet?.skipped).toMatch(/busy/)
        expect(pinned.ok).toBe(true)
        reader.exec('COMMIT')

        const quiet = await checkBoard(writer, { quiet: true })
        expect(quiet.quiet).toMatchObject({ busy: 0, walBytes: 0, agrees: true })
        expect(quiet.quiet?.headerPageCount).toBe(quiet.pageCount)
        expect(quiet.quiet?.fileBytes).toBe(quiet.pageCount * pageSize)
        expect(quiet.ok).toBe(true)
      } finally {
        reader.close()
        writer.close()
      }
    })
  }

  it('a transient I/O error is thrown as TransientIO, not reported as corruption', async () => {
    const { create } = bundledAdapters[0]!
    const adapter = await create()
    const path = join(tempDir(), 'board.db')
    await createSampleDatabase(adapter, path)
    const connection = await adapter.open(path)
    const failing = failingOn(connection, /quick_check/, () => Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' }))
    try {
      await expect(checkBoard(failing)).rejects.toBeInstanceOf(TransientIO)
    } finally {
      connection.close()
    }
  })
})

describe('probeBoardFile', () => {
  for (const { name, create } of bundledAdapters.filter((entry) => entry.name !== 'sql.js')) {
    it(`${name}: confirms damage through a fresh read-only connection and never writes the file`, async () => {
      const adapter: SqliteAdapter = await create()
      const dir = tempDir()
      const healthyPath = join(dir, 'healthy.db')
      const corruptPath = join(dir, 'corrupt.db')
      const pageSize = await createSampleDatabase(adapter, healthyPath)
      await createSampleDatabase(adapter, corruptPath)
      writeGarbageIntoPage(corruptPath, 4, pageSize)
      const before = { fingerprint: fingerprintFile(corruptPath), hash: fileHash(corruptPath) }

      expect((await probeBoardFile(adapter, healthyPath)).verdict).toBe('healthy')
      const corrupt = await probeBoardFile(adapter, corruptPath)
      expect(corrupt.verdict).toBe('corrupt')
      expect(sameFingerprint(fingerprintFile(corruptPath), before.fingerprint)).toBe(true)
      expect(fileHash(corruptPath)).toBe(before.hash)

      const missing = await probeBoardFile(adapter, join(dir, 'missing.db'))
      expect(missing.verdict).toBe('inconclusive')
    })
  }
})

/** Wraps a connection so statements whose SQL matches `pattern` throw `makeError()` when run. */
function failingOn(connection: SqliteConnection, pattern: RegExp, makeError: () => Error): SqliteConnection {
  return new Proxy(connection, {
    get(target, property, receiver) {
      if (property === 'prepare') {
        return (query: string) => {
          const statement = target.prepare(query)
          if (!pattern.test(query)) return statement
          return { reader: statement.reader, all: () => { throw makeError() }, run: () => { throw makeError() }, finalize: () => statement.finalize() }
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

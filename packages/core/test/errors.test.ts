import { describe, expect, it } from 'vitest'
import { Busy, Corrupt, KanbanDbError, NotADatabase, SqliteFailure, TransientIO } from '@kanban-db/core'
import { classifySqliteError } from '@kanban-db/core/adapter'
import { bundledAdapters } from './adapters.js'
import { tempDir } from './temp-dir.js'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

describe('classifySqliteError', () => {
  it('reads better-sqlite3 codes, node:sqlite errcodes and sql.js messages alike', () => {
    const better = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })
    const node = Object.assign(new Error('disk I/O error'), { code: 'ERR_SQLITE_ERROR', errcode: 522, errstr: 'disk I/O error' })
    const sqljs = new Error('database disk image is malformed')
    const busy = classifySqliteError(better, 'claiming a task') as Busy
    expect(busy).toBeInstanceOf(Busy)
    expect(busy.code).toBe('BUSY')
    expect(busy.cause).toBe(better)
    expect(busy.message).toContain('claiming a task')
    const io = classifySqliteError(node, 'committing') as TransientIO
    expect(io).toBeInstanceOf(TransientIO)
    expect(io.sqliteCode).toBe('SQLITE_IOERR_SHORT_READ')
    expect(classifySqliteError(sqljs, 'reading')).toBeInstanceOf(Corrupt)
  })

  it('leaves errors that are not SQLite errors alone', () => {
    const bug = new TypeError('x is not a function')
    expect(classifySqliteError(bug, 'running a callback')).toBe(bug)
  })

  it('recognises kanban-db errors across copies by brand, not instanceof', () => {
    expect(KanbanDbError.isKanbanDbError(new SqliteFailure('x'))).toBe(true)
    expect(KanbanDbError.isKanbanDbError(new Error('x'))).toBe(false)
  })

  for (const { name, create } of bundledAdapters) {
    it(`names a real "not a database" error from ${name}`, async () => {
      const dir = tempDir()
      const path = join(dir, 'not-a-db.db')
      writeFileSync(path, 'this is plain text, not a SQLite file'.repeat(200))
      const adapter = await create()
      let caught: unknown
      try {
        const connection = await adapter.open(path)
        try {
          connection.prepare('select count(*) from sqlite_master').all([])
        } finally {
          connection.close()
        }
      } catch (error) {
        caught = error
      }
      expect(classifySqliteError(caught, 'opening the board')).toBeInstanceOf(NotADatabase)
    })
  }
})

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Busy, NotADatabase } from '@kanban-db/core'
import { classifySqliteError } from '@kanban-db/core/adapter'
import createAdapter from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'kanban-db-node-sqlite-decode-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function thrownBy(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error('the statement did not throw')
}

describe("node:sqlite's decodeError on the driver's real errors", () => {
  it('names a busy lock held by a second connection, a constraint violation and a file that is not a database', async () => {
    const adapter = await createAdapter()
    const path = join(dir, 'board.db')
    const holder = await adapter.open(path)
    const other = await adapter.open(path)
    try {
      holder.exec('CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1)')
      holder.exec('BEGIN IMMEDIATE')
      const busy = thrownBy(() => other.exec('INSERT INTO t VALUES (2)'))
      expect(adapter.decodeError?.(busy)).toEqual({ code: 'SQLITE_BUSY' })
      const named = classifySqliteError(busy, 'testing')
      expect(named).toBeInstanceOf(Busy)
      expect(named).toMatchObject({ sqliteCode: 'SQLITE_BUSY', cause: busy })
      holder.exec('ROLLBACK')

      const constraint = thrownBy(() => holder.exec('INSERT INTO t VALUES (1)'))
      expect(adapter.decodeError?.(constraint)).toEqual({ code: 'SQLITE_CONSTRAINT_UNIQUE' })
    } finally {
      holder.close()
      other.close()
    }

    const notADatabase = join(dir, 'notes.txt')
    writeFileSync(notADatabase, 'plain text, not a SQLite file\n'.repeat(200))
    let garbage: Awaited<ReturnType<typeof adapter.open>> | undefined
    const error = await (async () => {
      try {
        garbage = await adapter.open(notADatabase, { readonly: true })
        garbage.exec('SELECT * FROM sqlite_master')
      } catch (caught) {
        return caught
      } finally {
        garbage?.close()
      }
      throw new Error('reading a text file as a database did not throw')
    })()
    expect(adapter.decodeError?.(error)).toEqual({ code: 'SQLITE_NOTADB' })
    expect(classifySqliteError(error, 'testing')).toBeInstanceOf(NotADatabase)
  })

  it("leaves other errors alone, better-sqlite3's included", async () => {
    const adapter = await createAdapter()
    expect(adapter.decodeError?.(new Error('database is locked'))).toBeUndefined()
    expect(adapter.decodeError?.(Object.assign(new Error('database is locked'), { name: 'SqliteError', code: 'SQLITE_BUSY' }))).toBeUndefined()
    expect(adapter.decodeError?.('SQLITE_BUSY')).toBeUndefined()
  })
})

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Busy, NotADatabase } from '@kanban-db/core'
import { classifySqliteError, type SqliteConnection } from '@kanban-db/core/adapter'
import createAdapter from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'kanban-db-sql-js-decode-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function thrownBy(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error('the statement did not throw')
}

describe("sql.js's decodeError on the driver's real errors", () => {
  it('names a busy lock held by a second connection, a constraint violation and a file that is not a database', async () => {
    const adapter = await createAdapter()
    const holder = await adapter.open(join(dir, 'board.db'))
    // sql.js keeps each image as a file of its in-memory file system: a second connection attaches
    // the holder's, and SQLite's own locks between the two connections apply.
    const other = await adapter.open(':memory:')
    try {
      holder.exec('CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1)')
      const [main] = holder.prepare("SELECT file FROM pragma_database_list WHERE name = 'main'").all([]) as { file: string }[]
      other.exec(`ATTACH DATABASE '${main?.file}' AS shared`)
      holder.exec('BEGIN IMMEDIATE')
      const busy = thrownBy(() => other.exec('INSERT INTO shared.t VALUES (2)'))
      expect((busy as Error).message).toBe('database is locked')
      expect(adapter.decodeError?.(busy)).toEqual({ code: 'SQLITE_BUSY' })
      const named = classifySqliteError(busy, 'testing')
      expect(named).toBeInstanceOf(Busy)
      expect(named).toMatchObject({ sqliteCode: 'SQLITE_BUSY', cause: busy })
      holder.exec('ROLLBACK')

      const constraint = thrownBy(() => holder.prepare('INSERT INTO t VALUES (?)').run([1]))
      expect(adapter.decodeError?.(constraint)).toEqual({ code: 'SQLITE_CONSTRAINT_UNIQUE' })
      const notNull = thrownBy(() => holder.exec('CREATE TABLE n (x NOT NULL); INSERT INTO n VALUES (NULL)'))
      expect(adapter.decodeError?.(notNull)).toEqual({ code: 'SQLITE_CONSTRAINT_NOTNULL' })
    } finally {
      other.close()
      holder.close()
    }

    const notADatabase = join(dir, 'notes.txt')
    writeFileSync(notADatabase, 'plain text, not a SQLite file\n'.repeat(200))
    let garbage: SqliteConnection | undefined
    const error = await (async () => {
      try {
        garbage = await adapter.open(notADatabase, { readonly: true })
        garbage.prepare('SELECT * FROM sqlite_master').all([])
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

  it('leaves errors sql.js did not throw alone, even with SQLite\'s message (control: the same text from sql.js is named)', async () => {
    const adapter = await createAdapter()
    const connection = await adapter.open(':memory:')
    const fromSqlJs = thrownBy(() => connection.exec('CREATE TABLE c (x CHECK (x > 0)); INSERT INTO c VALUES (0)'))
    connection.close()
    expect(adapter.decodeError?.(fromSqlJs)).toEqual({ code: 'SQLITE_CONSTRAINT_CHECK' })
    expect(adapter.decodeError?.(new Error((fromSqlJs as Error).message))).toBeUndefined()
    expect(adapter.decodeError?.(new Error('database is locked'))).toBeUndefined()
    // sql.js's own errors (not SQLite's) carry no code.
    const closed = await adapter.open(':memory:')
    const statement = closed.prepare('SELECT 1')
    closed.close()
    expect(adapter.decodeError?.(thrownBy(() => statement.all([])))).toBeUndefined()
    expect(adapter.decodeError?.(Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 }))).toBeUndefined()
  })
})

import { describe, expect, it } from 'vitest'
import { DatabaseSync } from 'node:sqlite'
import { join } from 'node:path'
import { isCorrupt } from '@kanban-db/core/internal'
import { tempDir } from '../temp-dir.js'
import { writeGarbageIntoPage } from './fixtures.js'

/** A real SQLITE_CORRUPT from node:sqlite: a table whose second page is overwritten with garbage. */
function nodeSqliteCorruptError(): unknown {
  const path = join(tempDir(), 'damaged.db')
  const setup = new DatabaseSync(path)
  setup.exec("PRAGMA page_size = 4096; CREATE TABLE t (body TEXT); INSERT INTO t VALUES (zeroblob(100));")
  setup.close()
  writeGarbageIntoPage(path, 2, 4096)
  const damaged = new DatabaseSync(path)
  try {
    damaged.prepare('SELECT count(*) FROM t').all()
  } catch (error) {
    return error
  } finally {
    damaged.close()
  }
  throw new Error('the damaged table was read without an error')
}

describe('isCorrupt', () => {
  it("recognises node:sqlite's own SQLITE_CORRUPT, whose code property is not SQLite's name", () => {
    const error = nodeSqliteCorruptError()
    // The shape a check of `error.code` alone missed: node:sqlite names the code ERR_SQLITE_ERROR
    // and gives SQLite's in `errcode`.
    expect((error as { code?: unknown }).code).toBe('ERR_SQLITE_ERROR')
    expect((error as { errcode?: unknown }).errcode).toBe(11)
    expect(isCorrupt(error)).toBe(true)
  })

  it('does not take a busy or locked error for damage', () => {
    expect(isCorrupt(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(false)
  })
})

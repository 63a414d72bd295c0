import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { KanbanDbError, openBoard, type SqliteAdapter } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { statementWith, wrapConnections } from './wrapping-adapter.js'

// Right after BEGIN IMMEDIATE the write path reads `PRAGMA data_version` (to tell whether another
// connection committed since its last transaction). When that read fails (an I/O error, injected
// here at the driver boundary on a real board file), the callers get a classified error naming
// the failure, nothing is written, and the connection is not left inside the transaction.

/** Fails the write path's next `failures.left` reads of `PRAGMA data_version` with SQLITE_IOERR. */
function failingDataVersion(adapter: SqliteAdapter) {
  const failures = { left: 0 }
  const wrapped = wrapConnections(adapter, {
    prepare: (sql, statement) =>
      sql.trim() !== 'PRAGMA data_version'
        ? statement
        : statementWith(statement, () => {
            if (failures.left === 0) return
            failures.left--
            throw Object.assign(new Error('disk I/O error (injected at the driver boundary)'), { code: 'SQLITE_IOERR' })
          }),
  })
  return { adapter: wrapped, failures }
}

for (const { name, create } of bundledAdapters) {
  describe(`the first read after BEGIN fails, on ${name}`, () => {
    it('the callers get a classified error with the driver\'s as cause, nothing is written, and the next write works', async () => {
      const { adapter, failures } = failingDataVersion(await create())
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter })
      try {
        await board.createTask({ title: 'before' })
        failures.left = 1
        const error = await board.createTask({ title: 'refused' }).catch((caught: unknown) => caught)
        expect(failures.left).toBe(0)
        expect(KanbanDbError.isKanbanDbError(error)).toBe(true)
        expect(error).toMatchObject({ code: 'TRANSIENT_IO', sqliteCode: 'SQLITE_IOERR' })
        expect((error as Error).message).toMatch(/BEGIN IMMEDIATE/)
        expect(((error as Error).cause as Error).message).toMatch(/injected at the driver boundary/)
        await board.createTask({ title: 'after' })
        expect((await board.listTasks()).map((task) => task.title)).toEqual(['before', 'after'])
      } finally {
        failures.left = 0
        await board.close()
      }
    })
  })
}

import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { KanbanDbError, openBoard, type SqliteAdapter } from '@kanban-db/core'
import type { SqliteConnection } from '@kanban-db/core/adapter'
import { readStartRetries } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { statementWith, wrapConnections } from '../write/wrapping-adapter.js'

// SQLITE_PROTOCOL at the start of a read transaction: SQLite gave up its own WAL-index handshake
// retries (a process descheduled while others commit). Injected at the driver boundary as the
// drivers report it (code SQLITE_PROTOCOL, "locking protocol"), on a real board file.

/**
 * Fails the next `failures.left` statements (or BEGINs, by `where`) with SQLITE_PROTOCOL: outside a
 * transaction, where SQLite reports it; with `insideTransactionsOnly`, inside one instead.
 */
function protocolFaults(adapter: SqliteAdapter) {
  const failures = { left: 0, thrown: 0, where: 'statement' as 'statement' | 'begin', insideTransactionsOnly: false }
  const maybeFail = (connection: SqliteConnection, kind: 'statement' | 'begin') => {
    if (failures.left === 0 || failures.where !== kind || connection.inTransaction !== failures.insideTransactionsOnly) return
    failures.left--
    failures.thrown++
    throw Object.assign(new Error('locking protocol'), { code: 'SQLITE_PROTOCOL' })
  }
  const wrapped = wrapConnections(adapter, {
    // The board's statements, not the write path's PRAGMAs (they start no read transaction).
    prepare: (sql, statement, connection) => (/^\s*PRAGMA/i.test(sql) ? statement : statementWith(statement, () => maybeFail(connection, 'statement'))),
    exec: (sql, real, connection) => {
      if (sql.trim() === 'BEGIN IMMEDIATE') maybeFail(connection, 'begin')
      real(sql)
    },
  })
  return { adapter: wrapped, failures }
}

for (const { name, create } of bundledAdapters) {
  describe(`SQLITE_PROTOCOL starting a read, on ${name}`, () => {
    it(`a read outside a transaction is tried again up to ${readStartRetries} times (control: one more failure reaches the caller, named)`, async () => {
      const { adapter, failures } = protocolFaults(await create())
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter })
      try {
        const task = await board.createTask({ title: 'read me' })
        expect(readStartRetries).toBe(3) // documented: after 1, 2 and 4 ms
        failures.left = readStartRetries
        expect((await board.getTask(task.id))?.title).toBe('read me')
        expect(failures.thrown).toBe(readStartRetries)

        failures.left = readStartRetries + 1
        const error = await board.getTask(task.id).catch((caught: unknown) => caught)
        expect(KanbanDbError.isKanbanDbError(error)).toBe(true)
        expect((error as KanbanDbError).sqliteCode).toBe('SQLITE_PROTOCOL')
        failures.left = 0
        expect((await board.getTask(task.id))?.title).toBe('read me')
      } finally {
        failures.left = 0
        await board.close()
      }
    })

    it(`BEGIN IMMEDIATE is tried again the same way, and the write happens once (control: one more failure rejects it, nothing written)`, async () => {
      const { adapter, failures } = protocolFaults(await create())
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter })
      try {
        failures.where = 'begin'
        failures.left = readStartRetries
        await board.createTask({ title: 'written once' })
        expect(failures.thrown).toBe(readStartRetries)

        failures.left = readStartRetries + 1
        const error = await board.createTask({ title: 'refused' }).catch((caught: unknown) => caught)
        expect((error as KanbanDbError).sqliteCode).toBe('SQLITE_PROTOCOL')
        failures.left = 0
        const titles = (await board.listTasks({})).map((task) => task.title)
        expect(titles).toEqual(['written once'])
      } finally {
        failures.left = 0
        await board.close()
      }
    })

    it('a statement inside a write transaction is never tried again (control: the same failure outside one is)', async () => {
      const { adapter, failures } = protocolFaults(await create())
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter })
      try {
        failures.insideTransactionsOnly = true
        failures.left = 1
        const error = await board.writeTxn((trx) => trx.selectFrom('tasks').select('id').execute()).catch((caught: unknown) => caught)
        expect((error as KanbanDbError).sqliteCode).toBe('SQLITE_PROTOCOL')
        expect(failures.thrown).toBe(1)

        failures.insideTransactionsOnly = false
        failures.left = 1
        await board.db.selectFrom('tasks').select('id').execute()
        expect(failures.thrown).toBe(2)
      } finally {
        failures.left = 0
        await board.close()
      }
    })
  })
}

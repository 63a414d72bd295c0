import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Busy, KanbanDbError, openBoard, SqliteFailure, TransactionTimeout, type Board } from '@kanban-db/core'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import { rollbackErrorOf } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { wrapExec } from './wrapping-adapter.js'

async function taskCount(board: Board): Promise<number> {
  const row = await board.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

function insertTask(id: string) {
  return { id, title: id, body: '', status: 'ready' as const, priority: 0, meta: '{}', created_at: 1, updated_at: 1, attempts: 0, max_attempts: 3 }
}

/** Lets pending I/O callbacks and timers of zero delay run a few times (not a wait for time). */
async function turnsOfTheEventLoop(count = 5): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve))
}

for (const { name, create } of bundledAdapters) {
  describe(`writeTxn on ${name}`, () => {
    it('runs concurrent callers one at a time, in the order they called', async () => {
      const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter: await create() })
      try {
        let active = 0
        let maxActive = 0
        const order: number[] = []
        await Promise.all(
          Array.from({ length: 20 }, (_, index) =>
            board.writeTxn(async (trx) => {
              active++
              maxActive = Math.max(maxActive, active)
              await turnsOfTheEventLoop(1)
              await trx.insertInto('tasks').values(insertTask(`t${String(index).padStart(2, '0')}`)).execute()
              order.push(index)
              active--
            }),
          ),
        )
        expect(maxActive).toBe(1)
        expect(order).toEqual(Array.from({ length: 20 }, (_, index) => index))
        expect(await taskCount(board)).toBe(20)
      } finally {
        await board.close()
      }
    })

    it('makes reads through board.db wait for the open write, then see its commit', async () => {
      const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter: await create() })
      try {
        const log: string[] = []
        let release!: () => void
        const gate = new Promise<void>((resolve) => (release = resolve))
        let entered!: () => void
        const inside = new Promise<void>((resolve) => (entered = resolve))
        const write = board.writeTxn(async (trx) => {
          await trx.insertInto('tasks').values(insertTask('w')).execute()
          entered()
          await gate
          log.push('write done')
        })
        await inside
        const read = board.db.selectFrom('tasks').select('id').execute().then((rows) => {
          log.push('read done')
          return rows
        })
        await turnsOfTheEventLoop()
        log.push('gate opened')
        release()
        await write
        expect(await read).toEqual([{ id: 'w' }])
        expect(log).toEqual(['gate opened', 'write done', 'read done'])
      } finally {
        await board.close()
      }
    })

    it('rolls back on any error and gives the caller that same error; SQLite errors come classified', async () => {
      const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter: await create() })
      try {
        const mine = new Error('my bug')
        await expect(
          board.writeTxn(async (trx) => {
            await trx.insertInto('tasks').values(insertTask('gone')).execute()
            throw mine
          }),
        ).rejects.toBe(mine)
        await expect(board.writeTxn(() => Promise.reject('a string'))).rejects.toBe('a string')
        const constraint = board.writeTxn(async (trx) => {
          await trx.insertInto('tasks').values(insertTask('dup')).execute()
          await trx.insertInto('tasks').values(insertTask('dup')).execute()
        })
        await expect(constraint).rejects.toBeInstanceOf(SqliteFailure)
        await expect(constraint).rejects.toMatchObject({ sqliteCode: expect.stringMatching(/^SQLITE_CONSTRAINT/), cause: expect.anything() })
        expect(await taskCount(board)).toBe(0)
        expect(await board.writeTxn(async (trx) => (await trx.insertInto('tasks').values(insertTask('kept')).execute(), 'ok'))).toBe('ok')
        expect(await taskCount(board)).toBe(1)
      } finally {
        await board.close()
      }
    })

    it('keeps the ORIGINAL error when ROLLBACK itself fails (control first), and stays usable', async () => {
      // The fault: ROLLBACK fails after SQLite has already rolled back, as it does after an I/O
      // error. Injected at the driver boundary: the real ROLLBACK runs, then a second real ROLLBACK
      // raises SQLite's own "cannot rollback - no transaction is active".
      let injectRollbackFailure = false
      const adapter = wrapExec(await create(), (text, real) => {
        real(text)
        if (injectRollbackFailure && /^\s*ROLLBACK\s*$/i.test(text)) real(text)
      })
      const original = new Error('the original failure')

      // Control: a naive write path (ROLLBACK in the catch, then rethrow) loses the original error.
      const raw: SqliteConnection = await adapter.open(join(tempDir(), 'control.db'))
      injectRollbackFailure = true
      let naiveCaught: unknown
      try {
        raw.exec('BEGIN IMMEDIATE')
        try {
          throw original
        } catch (error) {
          raw.exec('ROLLBACK')
          throw error
        }
      } catch (error) {
        naiveCaught = error
      } finally {
        raw.close()
      }
      if (naiveCaught === original) throw new Error('control did not reproduce the hazard: the naive path kept the original error')

      injectRollbackFailure = false
      const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter })
      try {
        injectRollbackFailure = true
        let caught: unknown
        try {
          await board.writeTxn(async (trx) => {
            await trx.insertInto('tasks').values(insertTask('not kept')).execute()
            throw original
          })
        } catch (error) {
          caught = error
        }
        injectRollbackFailure = false
        expect(caught).toBe(original)
        const rollbackError = rollbackErrorOf(caught)
        // better-sqlite3 and node:sqlite report a SQLite code (classified as SqliteFailure); sql.js
        // only a message, which classifySqliteError leaves as it is.
        const driverError = KanbanDbError.isKanbanDbError(rollbackError) ? (rollbackError as Error).cause : rollbackError
        expect(String(driverError)).toMatch(/no transaction is active/)
        expect(await taskCount(board)).toBe(0)
        await board.createTask({ title: 'after' })
        expect(await taskCount(board)).toBe(1)
      } finally {
        injectRollbackFailure = false
        await board.close()
      }
    })

    it('rolls back a callback that never settles with TransactionTimeout, and moves on', async () => {
      // Only the stuck callback gets a short timeout: the others keep the default, so load on the
      // machine cannot make them time out.
      const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter: await create() })
      try {
        let leaked: Parameters<Parameters<Board['writeTxn']>[0]>[0] | undefined
        const stuck = board.writeTxn(
          async (trx) => {
            leaked = trx
            await trx.insertInto('tasks').values(insertTask('never')).execute()
            await new Promise(() => {})
          },
          { timeoutMs: 50 },
        )
        const next = board.createTask({ title: 'next in line' })
        await expect(stuck).rejects.toBeInstanceOf(TransactionTimeout)
        await expect(next).resolves.toMatchObject({ title: 'next in line' })
        expect(await taskCount(board)).toBe(1)
        // The timed-out callback's handle no longer reaches the database.
        await expect(leaked!.insertInto('tasks').values(insertTask('late')).execute()).rejects.toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
        expect(await taskCount(board)).toBe(1)
      } finally {
        await board.close()
      }
    })

    it('joins board operations inside writeTxn as savepoints: all commit together, a failed one undoes only itself', async () => {
      const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter: await create() })
      try {
        const ids = await board.writeTxn(async () => {
          const a = await board.createTask({ title: 'a' })
          await expect(board.addDependency(a.id, 't_missing')).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' })
          await expect(board.createTasks([{ title: 'x' }, { title: 'y', dependsOn: ['t_missing'] }])).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' })
          const b = await board.createTask({ title: 'b', dependsOn: [a.id] })
          expect((await board.getTask(b.id))!.status).toBe('todo')
          return [a.id, b.id]
        })
        expect((await board.listTasks()).map((task) => task.id)).toEqual(ids)
        const boom = new Error('outer fails')
        await expect(
          board.writeTxn(async () => {
            await board.createTask({ title: 'c' })
            throw boom
          }),
        ).rejects.toBe(boom)
        expect(await taskCount(board)).toBe(2)
      } finally {
        await board.close()
      }
    })
  })
}

for (const { name, create } of bundledAdapters) {
  const skipReason = name === 'sql.js' ? ' (skipped: sql.js has no shared file, so no other connection can hold the lock)' : ''
  describe.skipIf(name === 'sql.js')(`writeTxn under another writer's lock on ${name}${skipReason}`, () => {
    it('retries BEGIN IMMEDIATE while another connection holds the lock, and succeeds once it is released', async () => {
      const base = await create()
      const path = join(tempDir(), 'b.db')
      let blocker: SqliteConnection | undefined
      let busyAttempts = 0
      const adapter = wrapExec(base, (text, real) => {
        try {
          real(text)
        } catch (error) {
          if (/^BEGIN IMMEDIATE$/.test(text) && blocker) {
            busyAttempts++
            // The other writer commits after we saw the lock held once.
            blocker.exec('COMMIT')
            blocker.close()
            blocker = undefined
          }
          throw error
        }
      })
      const board = await openBoard({ path, adapter, policy: { busyTimeoutMs: 0 } })
      try {
        blocker = await base.open(path)
        blocker.exec('BEGIN IMMEDIATE')
        await board.createTask({ title: 'written after the retry' })
        expect(busyAttempts).toBe(1)
        expect(await taskCount(board)).toBe(1)
      } finally {
        blocker?.close()
        await board.close()
      }
    })

    it('lets an idle claimNext return undefined without taking the write lock', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'b.db')
      const board = await openBoard({ path, adapter, policy: { busyTimeoutMs: 0 }, write: { busyRetryBudgetMs: 30 } })
      const blocker = await adapter.open(path)
      try {
        blocker.exec('BEGIN IMMEDIATE')
        // Control: a write under the held lock does fail with Busy.
        await expect(board.createTask({ title: 'x' })).rejects.toBeInstanceOf(Busy)
        await expect(board.claimNext({ workerId: 'w', leaseMs: 1000 })).resolves.toBeUndefined()
      } finally {
        blocker.close()
        await board.close()
      }
    })

    it('gives up with Busy after the retry budget, having written nothing', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'b.db')
      const board = await openBoard({ path, adapter, policy: { busyTimeoutMs: 0 }, write: { busyRetryBudgetMs: 30 } })
      const blocker = await adapter.open(path)
      try {
        blocker.exec('BEGIN IMMEDIATE')
        const write = board.createTask({ title: 'blocked' })
        await expect(write).rejects.toBeInstanceOf(Busy)
        await expect(write).rejects.toMatchObject({ code: 'BUSY', details: { attempts: expect.any(Number) }, cause: expect.any(Busy) })
        blocker.exec('ROLLBACK')
        expect(await taskCount(board)).toBe(0)
        await board.createTask({ title: 'fine now' })
        expect(await taskCount(board)).toBe(1)
      } finally {
        blocker.close()
        await board.close()
      }
    })
  })
}

describe('write options', () => {
  it('refuses a nonsense timeout for one call', async () => {
    const { default: createAdapter } = await import('@kanban-db/adapter-better-sqlite3')
    const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter: await createAdapter() })
    try {
      await expect(board.writeTxn(() => 1, { timeoutMs: -1 })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      await expect(board.writeTxn(() => 1, { timeoutMs: 1000 })).resolves.toBe(1)
    } finally {
      await board.close()
    }
  })

  it('refuses nonsense budgets', async () => {
    const { default: createAdapter } = await import('@kanban-db/adapter-better-sqlite3')
    await expect(openBoard({ path: join(tempDir(), 'b.db'), adapter: await createAdapter(), write: { transactionTimeoutMs: -1 } })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    await expect(openBoard({ path: join(tempDir(), 'b.db'), adapter: await createAdapter(), write: { busyRetryBudgetMs: Number.NaN } })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
  })
})

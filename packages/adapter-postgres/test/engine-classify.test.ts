import { sql } from 'kysely'
import pg from 'pg'
import { InvalidTransition } from '@kanban-db/core'
import { describe, expect, it } from 'vitest'
import { classifyPostgresError, postgres } from '../src/index.js'
import { describeServer, freshSchema, rawClient, serverUrl, signal, taskRow, track } from './server.js'

/** A server error as node-postgres builds it from an ErrorResponse. */
function serverError(code: string, message: string): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error')
  error.code = code
  error.severity = 'ERROR'
  return error
}

describe('classifyPostgresError by SQLSTATE', () => {
  it.each([
    ['40001', 'BUSY'], ['40P01', 'BUSY'], ['57014', 'STATEMENT_TIMEOUT'], ['55P03', 'LOCK_TIMEOUT'], ['08006', 'CONNECTION_LOST'],
    ['08003', 'CONNECTION_LOST'], ['57P01', 'CONNECTION_LOST'], ['57P02', 'CONNECTION_LOST'], ['57P03', 'CONNECTION_LOST'],
    ['53100', 'DISK_FULL'], ['25006', 'READ_ONLY_BOARD'], ['XX001', 'CORRUPT'], ['XX002', 'CORRUPT'], ['42P01', 'SCHEMA_MISMATCH'],
    ['23505', 'POSTGRES_FAILURE'], ['42501', 'POSTGRES_FAILURE'],
  ])('%s is %s, with the original as cause and the SQLSTATE kept', (code, expected) => {
    const original = serverError(code, 'something happened')
    const classified = classifyPostgresError(original, 'claiming a task') as Error & { code: string; sqlState: string }
    expect(classified).toMatchObject({ code: expected, sqlState: code })
    expect(classified.cause).toBe(original)
    expect(classified.message).toContain('claiming a task')
  })

  it("treats node-postgres's lost-connection errors and socket errors as ConnectionLost", () => {
    for (const error of [
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }),
      Object.assign(new Error('connect ENOENT /tmp/x/.s.PGSQL.5432'), { code: 'ENOENT', syscall: 'connect' }),
    ]) {
      expect(classifyPostgresError(error, 'reading')).toMatchObject({ code: 'CONNECTION_LOST', cause: error })
    }
  })

  it('returns kanban-db errors and errors that are not the database\'s unchanged', () => {
    const bug = new TypeError('x is not a function')
    expect(classifyPostgresError(bug, 'writing')).toBe(bug)
    const named = new InvalidTransition('no')
    expect(classifyPostgresError(named, 'writing')).toBe(named)
    expect(classifyPostgresError('a string', 'writing')).toBe('a string')
    expect(classifyPostgresError(Object.assign(new Error('ENOENT'), { code: 'ENOENT', syscall: 'open' }), 'x')).toMatchObject({ code: 'ENOENT' })
  })
})

describeServer('postgres engine: classifying real server errors', () => {
  it('StatementTimeout when statementTimeoutMs cancels a statement', async () => {
    const engine = track(await postgres({ connectionString: serverUrl(), schema: freshSchema(), statementTimeoutMs: 50 }).open({ readonly: false }))
    const error = await sql`SELECT pg_sleep(30)`.execute(engine.db).catch((failure: unknown) => failure)
    expect(engine.classify(error, 'reading')).toMatchObject({ code: 'STATEMENT_TIMEOUT', sqlState: '57014' })
  })

  it('LockTimeout from a write that waits past lock_timeout, not retried', async () => {
    const schema = freshSchema()
    const engine = track(await postgres({ connectionString: serverUrl(), schema }).open({ readonly: false }))
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('x')).execute())
    const holder = await rawClient(schema)
    await holder.query('BEGIN')
    await holder.query(`SELECT id FROM tasks WHERE id = 'x' FOR UPDATE`)
    let calls = 0
    const write = engine.writeTxn(async (trx) => {
      calls++
      await sql`SET LOCAL lock_timeout = '20ms'`.execute(trx)
      await trx.updateTable('tasks').set({ priority: 1 }).where('id', '=', 'x').execute()
    })
    await expect(write).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', sqlState: '55P03' })
    expect(calls).toBe(1)
    await holder.query('ROLLBACK')
  })

  it('SchemaMismatch when the board tables are gone', async () => {
    const schema = freshSchema()
    const engine = track(await postgres({ connectionString: serverUrl(), schema }).open({ readonly: false }))
    await (await rawClient(schema)).query('DROP TABLE events')
    const error = await engine.db.selectFrom('events').selectAll().execute().catch((failure: unknown) => failure)
    expect(engine.classify(error, 'reading events')).toMatchObject({ code: 'SCHEMA_MISMATCH', sqlState: '42P01' })
  })

  it('Busy, with the last deadlock as cause, only once the retry budget is spent', async () => {
    const schema = freshSchema()
    const engine = track(await postgres({ connectionString: serverUrl(), schema }).open({ readonly: false, write: { busyRetryBudgetMs: 0 } }))
    await engine.writeTxn((trx) => trx.insertInto('tasks').values([taskRow('x'), taskRow('y')]).execute())
    const holdsFirst = [signal(), signal()]
    const lockBoth = (first: string, second: string, me: number) =>
      engine.writeTxn(async (trx) => {
        await trx.updateTable('tasks').set({ priority: 1 }).where('id', '=', first).execute()
        holdsFirst[me]!.resolve()
        await holdsFirst[1 - me]!.promise
        await trx.updateTable('tasks').set({ priority: 1 }).where('id', '=', second).execute()
      })
    const outcomes = await Promise.allSettled([lockBoth('x', 'y', 0), lockBoth('y', 'x', 1)])
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected')
    expect(failed).toHaveLength(1)
    const reason = (failed[0] as PromiseRejectedResult).reason as Error & { code: string; sqlState: string; cause: pg.DatabaseError }
    expect(reason).toMatchObject({ code: 'BUSY', sqlState: '40P01' })
    expect(reason.cause.code).toBe('40P01')
  })
})

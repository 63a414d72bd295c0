import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { sql } from 'kysely'
import { LATEST_SCHEMA_VERSION, type BoardEngine } from '@kanban-db/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'
import { pglite, postgresMigrations } from '../src/index.js'
import { eventRow, signal, taskRow } from './server.js'

const engines: BoardEngine[] = []
const instances: PGlite[] = []
afterEach(async () => {
  await Promise.allSettled(engines.splice(0).map((engine) => engine.close()))
  await Promise.allSettled(instances.splice(0).map((instance) => instance.close()))
})

async function openEngine(config: Parameters<typeof pglite>[0] = {}, readonly = false) {
  const engine = await pglite(config).open({ readonly })
  engines.push(engine)
  return engine
}

describe('pglite engine', () => {
  it('opens an in-memory board at the current schema version, and says what it is', async () => {
    const engine = await openEngine()
    expect(engine.kind).toBe('postgres')
    expect(engine.capabilities).toEqual({ concurrentWriters: false, serverClock: true, crossProcessWakeups: false })
    expect(await engine.schemaVersion()).toBe(LATEST_SCHEMA_VERSION)
    expect(engine.location).toBe('pglite memory schema kanban')
    expect(await engine.health()).toMatchObject({ engine: 'postgres', driver: 'pglite', schema: 'kanban', serverVersion: expect.any(String) })
  })

  it('writes, reads bigints and counts as numbers, and reads its clock', async () => {
    const engine = await openEngine()
    const now = await engine.writeTxn(async (trx) => {
      const clock = await engine.now(trx)
      await trx.insertInto('tasks').values(taskRow('t', 'ready', clock)).execute()
      await trx.insertInto('events').values(eventRow('t', 'created', clock)).execute()
      return clock
    })
    expect(Number.isSafeInteger(now)).toBe(true)
    const event = await engine.db.selectFrom('events').selectAll().executeTakeFirstOrThrow()
    // Ids are drawn again at COMMIT (commit order), so the first event need not be 1.
    expect(event).toMatchObject({ id: expect.any(Number), created_at: now })
    const { rows } = await sql<{ n: number; total: number }>`SELECT count(*) AS n, sum(created_at) AS total FROM tasks`.execute(engine.db)
    expect(rows[0]).toEqual({ n: 1, total: now })
  })

  it('runs writes one at a time in this process, and reads wait for an open write instead of seeing it half done', async () => {
    const engine = await openEngine()
    let open = 0
    let mostOpen = 0
    await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        engine.writeTxn(async (trx) => {
          mostOpen = Math.max(mostOpen, ++open)
          await trx.insertInto('tasks').values(taskRow(`t${index}`)).execute()
          open--
        }),
      ),
    )
    expect(mostOpen).toBe(1)
    // A write that will roll back: a read running inside it (PGlite has one session) would see its row.
    const finish = signal()
    const entered = signal()
    const write = engine.writeTxn(async (trx) => {
      await trx.insertInto('tasks').values(taskRow('never')).execute()
      entered.resolve()
      await finish.promise
      throw new Error('changed my mind')
    })
    await entered.promise
    const read = engine.db.selectFrom('tasks').select('id').where('id', '=', 'never').execute()
    finish.resolve()
    await expect(write).rejects.toThrow('changed my mind')
    expect(await read).toEqual([])
  })

  it('nests writes as savepoints and times callbacks out', async () => {
    const engine = await openEngine()
    await engine.writeTxn(async (trx) => {
      expect(engine.currentTransaction()).toBe(trx)
      await trx.insertInto('tasks').values(taskRow('outer')).execute()
      await expect(engine.writeTxn((inner) => inner.insertInto('tasks').values(taskRow('outer')).execute())).rejects.toMatchObject({ sqlState: '23505' })
      await engine.writeTxn((inner) => inner.insertInto('tasks').values(taskRow('inner')).execute())
    })
    const resume = signal()
    const late = signal<unknown>()
    await expect(
      engine.writeTxn(async (trx) => {
        await trx.insertInto('tasks').values(taskRow('slow')).execute()
        await resume.promise
        late.resolve(await trx.selectFrom('tasks').selectAll().execute().catch((error: unknown) => error))
      }, { timeoutMs: 50 }),
    ).rejects.toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
    resume.resolve()
    expect(await late.promise).toMatchObject({ code: 'TRANSACTION_TIMEOUT' })
    expect(await engine.db.selectFrom('tasks').select('id').orderBy('id').execute()).toEqual([{ id: 'inner' }, { id: 'outer' }])
  })

  it('wakes its listeners when a task becomes ready', { timeout: 60_000 }, async () => {
    const engine = await openEngine()
    let wakes = 0
    let next = signal()
    engine.onWake(() => {
      wakes++
      next.resolve()
    })
    await next.promise
    next = signal()
    await engine.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('r')).execute())
    await next.promise
    expect(wakes).toBe(2)
  })

  it('shares an instance it was given, never closes it, and keeps named locks per instance', async () => {
    const instance = new PGlite()
    instances.push(instance)
    const first = await openEngine({ pglite: instance })
    const second = await openEngine({ pglite: instance })
    const held = await first.tryLock('dispatcher')
    expect(held).toBeDefined()
    expect(await second.tryLock('dispatcher')).toBeUndefined()
    await held!.release()
    expect(await second.tryLock('dispatcher')).toBeDefined()
    await first.close()
    await second.close()
    expect(instance.closed).toBe(false)
    // Each migration step applied once, though two engines opened the board.
    expect((await instance.query<{ n: number }>('SELECT count(*)::int AS n FROM kanban.kanban_db_schema_version')).rows[0]!.n).toBe(postgresMigrations('kanban').length)
  })

  it('keeps the board in a data directory across opens, and refuses a read-only open of a missing board', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kanban-pglite-'))
    try {
      const writer = await pglite({ dataDir }).open({ readonly: false })
      await writer.writeTxn((trx) => trx.insertInto('tasks').values(taskRow('kept')).execute())
      await writer.close()
      const reader = await openEngine({ dataDir }, true)
      expect(await reader.db.selectFrom('tasks').select('id').execute()).toEqual([{ id: 'kept' }])
      await expect(reader.writeTxn(() => undefined)).rejects.toMatchObject({ code: 'READ_ONLY_BOARD' })
      await reader.close()
      await expect(pglite({ dataDir, schema: 'other' }).open({ readonly: true })).rejects.toMatchObject({ code: 'BOARD_NOT_FOUND' })
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })

  it('validates its config with InvalidInput', () => {
    expect(() => pglite({ schema: 'Bad-Name' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(() => pglite({ pglite: {} as never })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
    expect(() => pglite({ dataDir: '' })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }))
  })
})

import { describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { openBoard, SchemaMismatch } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { openTestBoard } from './helpers.js'

for (const { name, create } of bundledAdapters) {
  describe(`openBoard on ${name}`, () => {
    it('creates and migrates a new file once; reopening keeps the data and the version', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const first = await openBoard({ path, adapter })
      const task = await first.createTask({ title: 'kept' })
      await first.close()
      await first.close()
      const again = await openBoard({ path, adapter })
      try {
        expect(await again.getTask(task.id)).toMatchObject({ title: 'kept' })
        expect((await again.health()).schemaVersion).toBe(LATEST_SCHEMA_VERSION)
        expect(await again.events()).toHaveLength(1)
      } finally {
        await again.close()
      }
    })

    it('opens :memory: as a private in-memory board, never as a file named ":memory:"', async () => {
      const before = existsSync(':memory:')
      const board = await openBoard({ path: ':memory:', adapter: await create() })
      try {
        expect(board.path).toBe(':memory:')
        await board.createTask({ title: 'in memory' })
        expect(await board.listTasks()).toHaveLength(1)
      } finally {
        await board.close()
      }
      expect(existsSync(':memory:')).toBe(before)
    })

    it('refuses a read-only open of a missing file without creating it', async () => {
      const path = join(tempDir(), 'missing.db')
      await expect(openBoard({ path, adapter: await create(), readonly: true })).rejects.toMatchObject({ code: 'BOARD_NOT_FOUND' })
      expect(existsSync(path)).toBe(false)
    })

    it('backs up through the hygiene layer: the copy opens as a board with the same tasks', async () => {
      const adapter = await create()
      const { board } = await openTestBoard(adapter)
      const task = await board.createTask({ title: 'saved' })
      const copy = join(tempDir(), 'copy.db')
      if (!adapter.capabilities.onlineBackup) {
        await expect(board.backupTo(copy)).rejects.toMatchObject({ code: 'NOT_SUPPORTED' })
        return
      }
      await board.backupTo(copy)
      const restored = await openBoard({ path: copy, adapter, readonly: true })
      try {
        expect(await restored.getTask(task.id)).toMatchObject({ title: 'saved' })
      } finally {
        await restored.close()
      }
    })

    it('refuses every call after close with BoardClosed', async () => {
      const { board } = await openTestBoard(await create())
      await board.close()
      await expect(board.createTask({ title: 'x' })).rejects.toMatchObject({ code: 'BOARD_CLOSED' })
      await expect(board.getTask('t_x')).rejects.toMatchObject({ code: 'BOARD_CLOSED' })
      expect(() => board.checkGhost()).toThrow(expect.objectContaining({ code: 'BOARD_CLOSED' }))
    })

    it('lets close wait for the running write', async () => {
      const { board } = await openTestBoard(await create())
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      let entered!: () => void
      const inside = new Promise<void>((resolve) => (entered = resolve))
      const write = board.writeTxn(async (trx) => {
        entered()
        await gate
        return trx.selectFrom('tasks').select('id').execute()
      })
      await inside
      const closing = board.close()
      release()
      await expect(write).resolves.toEqual([])
      await closing
    })
  })
}

describe('openBoard (shared file)', () => {
  it('opens read-only: reads work, writes fail with ReadOnlyBoard', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    const writer = await openBoard({ path, adapter })
    const task = await writer.createTask({ title: 'seen' })
    const reader = await openBoard({ path, adapter, readonly: true })
    try {
      expect(reader.readonly).toBe(true)
      expect(await reader.getTask(task.id)).toMatchObject({ title: 'seen' })
      await expect(reader.createTask({ title: 'no' })).rejects.toMatchObject({ code: 'READ_ONLY_BOARD' })
      await expect(reader.claimNext({ workerId: 'w', pid: 1, host: 'h', leaseMs: 10 })).rejects.toMatchObject({ code: 'READ_ONLY_BOARD' })
    } finally {
      await reader.close()
      await writer.close()
    }
  })

  it('refuses a file written by a newer kanban-db and leaves it unchanged', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    const board = await openBoard({ path, adapter })
    await board.writeTxn(async () => undefined)
    await board.close()
    const raw = await adapter.open(path)
    raw.exec(`PRAGMA user_version = ${LATEST_SCHEMA_VERSION + 1}`)
    raw.close()
    const refused = openBoard({ path, adapter })
    await expect(refused).rejects.toBeInstanceOf(SchemaMismatch)
    const check = await adapter.open(path)
    try {
      expect(check.prepare('PRAGMA user_version').all([])[0]).toEqual({ user_version: LATEST_SCHEMA_VERSION + 1 })
    } finally {
      check.close()
    }
  })

  it('refuses a read-only open of a file with an older schema', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'old.db')
    const raw = await adapter.open(path)
    raw.exec('CREATE TABLE something (x)')
    raw.close()
    await expect(openBoard({ path, adapter, readonly: true })).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' })
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Dispatcher, type SqliteAdapter } from '@kanban-db/core'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import { fingerprintFile } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { fileHash } from '../corruption/fixtures.js'
import { createBoardWithTasks, ForkedWorkers, ofType, recordEvents } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('Dispatcher and a board file replaced under it', () => {
  for (const { name, create } of bundledAdapters.filter((entry) => entry.name !== 'sql.js')) {
    it(`${name}: the ghost is closed, and the new file is not opened beside the old file's -wal until it is removed`, async () => {
      const adapter = await create()
      const dir = tempDir()
      const path = join(dir, 'board.db')
      await createBoardWithTasks(adapter, path, 4, 'original')
      const workers = new ForkedWorkers()
      const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, concurrency: 2 })
      const events = recordEvents(dispatcher)
      cleanups.push(async () => {
        await workers.killAll()
        await dispatcher.stop()
      })
      await dispatcher.tick()
      expect(ofType(events, 'spawned')).toHaveLength(2)

      // A restore by `mv` while the dispatcher has the board open (hazard H3).
      const restored = join(dir, 'restored.db')
      await createBoardWithTasks(adapter, restored, 3, 'restored')
      renameSync(restored, path)
      events.length = 0
      await dispatcher.tick()
      expect(ofType(events, 'error').map((event) => [event.phase, event.code])).toEqual([['ghost-check', 'GHOST_FILE']])
      expect(dispatcher.status().boards[0]!.state).toBe('closed')
      const walBytes = Number(fingerprintFile(`${path}-wal`).size || 0)
      if (walBytes === 0) throw new Error('control did not reproduce the hazard: the old file left no -wal beside the new one')

      // Control: opening the new file beside the old -wal (on a copy of the three files) does not
      // give the restored board back.
      const scratch = join(dir, 'scratch')
      mkdirSync(scratch)
      for (const suffix of ['', '-wal', '-shm']) copyFileSync(`${path}${suffix}`, join(scratch, `board.db${suffix}`))
      const seen = await titlesIn(adapter, join(scratch, 'board.db'))
      if (seen.length > 0 && seen.every((title) => title.startsWith('restored'))) {
        throw new Error(`control did not reproduce the hazard: the old -wal did not change the restored board (${seen.join(', ')})`)
      }

      // Protection: not opened while the old -wal lies there; the restored file is untouched.
      const restoredHash = fileHash(path)
      events.length = 0
      await dispatcher.tick()
      expect(ofType(events, 'error').map((event) => event.code)).toEqual(['STALE_SIDECAR'])
      expect(ofType(events, 'spawned')).toEqual([])
      expect(fileHash(path)).toBe(restoredHash)

      rmSync(`${path}-wal`)
      rmSync(`${path}-shm`, { force: true })
      await workers.finishAll(0)
      events.length = 0
      await dispatcher.tick()
      expect(ofType(events, 'error').map((event) => event.code)).toEqual([])
      // The old workers' tasks are not on the restored board: their exits are dropped as stale.
      expect(ofType(events, 'recorded').map((event) => event.outcome)).toEqual(['stale', 'stale'])
      expect(ofType(events, 'spawned')).toHaveLength(2)
      await dispatcher.stop()
      expect((await titlesIn(adapter, path)).sort()).toEqual(['restored 0', 'restored 1', 'restored 2'])
    })
  }
})

/** The task titles a fresh connection sees at `path` (an error message when it cannot read them). */
async function titlesIn(adapter: SqliteAdapter, path: string): Promise<string[]> {
  let connection: SqliteConnection | undefined
  try {
    connection = await adapter.open(path)
    return connection.prepare('SELECT title FROM tasks').all([]).map((row) => String(row.title))
  } catch (error) {
    return [`error: ${(error as Error).message}`]
  } finally {
    connection?.close()
  }
}

import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BoardNotFound, GhostFile, NotSupported } from '@kanban-db/core'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import { openHygienicConnection, resolvePolicy } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

const policy = resolvePolicy()
const initialise = (connection: SqliteConnection) => connection.exec('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)')
const isInitialised = (connection: SqliteConnection) =>
  connection.prepare("SELECT 1 FROM sqlite_master WHERE name = 'items'").all([]).length > 0

describe('openHygienicConnection', () => {
  for (const { name, create } of bundledAdapters) {
    describe(name, () => {
      it('takes the init lock for a first open only, and ends in WAL where the adapter has WAL', async () => {
        const adapter = await create()
        const path = join(tempDir(), 'board.db')
        const first = await openHygienicConnection(adapter, path, { policy, initialise, isInitialised })
        expect(first.tookInitLock).toBe(true)
        first.connection.prepare('INSERT INTO items (name) VALUES (?)').run(['a'])
        first.close()
        first.close()
        const second = await openHygienicConnection(adapter, path, { policy, initialise, isInitialised })
        try {
          expect(second.tookInitLock).toBe(false)
          expect(second.connection.prepare('SELECT name FROM items').all([])).toEqual([{ name: 'a' }])
          if (adapter.capabilities.wal) {
            expect(first.journalMode).toBe('wal')
            expect(second.journalMode).toBe('wal')
            expect(second.skipped).toEqual([])
          } else {
            expect(second.skipped.map((step) => step.step)).toEqual(['journal-mode', 'init-lock', 'sidecar-audit', 'online-backup'])
            for (const step of second.skipped) expect(step.reason).toContain(adapter.identity.name)
          }
          const health = second.health()
          expect(health.journalMode).toBe(second.journalMode)
          expect(health.pageCount).toBeGreaterThan(0)
          expect(health.databaseBytes).toBe(health.pageCount * health.pageSize)
          expect(health.file).toBe('same')
          if (adapter.capabilities.sharedFile) {
            expect(health.deletedSidecarFds).toBe(0)
            expect(health.locksMissing).toEqual([])
            expect(health.filesystem).toBeTypeOf('string')
          }
          expect(second.checkpoint().mode).toBe('PASSIVE')
          expect(second.health().lastCheckpoint?.mode).toBe('PASSIVE')
          second.checkGhost()
        } finally {
          second.close()
        }
      })

      it('never creates a board on a read-only open', async () => {
        const adapter = await create()
        const path = join(tempDir(), 'missing.db')
        await expect(openHygienicConnection(adapter, path, { policy, readonly: true })).rejects.toBeInstanceOf(BoardNotFound)
      })

      it('detects a file replaced or moved under it', async () => {
        const adapter = await create()
        const dir = tempDir()
        const path = join(dir, 'board.db')
        const board = await openHygienicConnection(adapter, path, { policy, initialise, isInitialised })
        try {
          if (!adapter.capabilities.sharedFile) board.connection.exec('SELECT 1') // sql.js: the file appears at close only
          writeFileSync(join(dir, 'other.db'), '')
          if (adapter.capabilities.sharedFile) {
            renameSync(join(dir, 'other.db'), path)
            expect(() => board.checkGhost()).toThrow(GhostFile)
            expect(board.health().file).toBe('replaced')
            renameSync(path, join(dir, 'elsewhere.db'))
            expect(board.health().file).toBe('missing')
            expect(() => board.checkGhost()).toThrow(/deleted or moved/)
          }
        } finally {
          board.close()
        }
      })

      it('backs up through the driver, or says it cannot', async () => {
        const adapter = await create()
        const dir = tempDir()
        const board = await openHygienicConnection(adapter, join(dir, 'board.db'), { policy, initialise, isInitialised })
        try {
          board.connection.prepare('INSERT INTO items (name) VALUES (?)').run(['kept'])
          if (!adapter.capabilities.onlineBackup) {
            await expect(board.backupTo(join(dir, 'copy.db'))).rejects.toBeInstanceOf(NotSupported)
            return
          }
          await board.backupTo(join(dir, 'copy.db'))
          await expect(board.backupTo(join(dir, 'copy.db'))).rejects.toThrow(/already exists/)
          const copy = await openHygienicConnection(adapter, join(dir, 'copy.db'), { policy, initialise, isInitialised })
          try {
            expect(copy.tookInitLock).toBe(false)
            expect(copy.connection.prepare('SELECT name FROM items').all([])).toEqual([{ name: 'kept' }])
          } finally {
            copy.close()
          }
        } finally {
          board.close()
        }
      })
    })
  }
})

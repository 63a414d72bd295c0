import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import createNodeSqlite from '@kanban-db/adapter-node-sqlite'
import createSqlJs from '@kanban-db/adapter-sql-js'
import { MixedSqliteCopies } from '@kanban-db/core'
import { auditLocks, openHygienicConnection, resolvePolicy } from '@kanban-db/core/internal'
import { fileIdentity } from '../../src/hygiene/file-identity.js'
import { fileRegistryKey, openFileEntry } from '../../src/hygiene/open-file-registry.js'
import { tempDir } from '../temp-dir.js'

const policy = resolvePolicy()

describe('one SQLite copy per file per process', () => {
  it('refuses a second copy on a held file before touching it, naming both libraries', async () => {
    const [better, node, sqljs] = await Promise.all([createBetterSqlite3(), createNodeSqlite(), createSqlJs()])
    const path = join(tempDir(), 'board.db')
    const held = await openHygienicConnection(better, path, { policy })
    try {
      held.connection.exec('CREATE TABLE t (x)')
      expect(auditLocks({ path }).missing).toEqual([])
      for (const other of [node, sqljs]) {
        const refused = openHygienicConnection(other, path, { policy })
        await expect(refused).rejects.toBeInstanceOf(MixedSqliteCopies)
        await expect(refused).rejects.toThrow(/one adapter per file per process/)
        const error = (await refused.catch((caught: unknown) => caught)) as MixedSqliteCopies
        expect(error.message).toContain('better-sqlite3')
        expect(error.message).toContain(other.identity.name)
      }
      // Refused before any open: better-sqlite3's locks are all still there.
      expect(auditLocks({ path }).missing).toEqual([])
      // The same copy may open the file again.
      const again = await openHygienicConnection(better, path, { policy })
      expect(openFileEntry(fileRegistryKey(fileIdentity(path)!))?.count).toBe(2)
      again.close()
    } finally {
      held.close()
    }
    expect(openFileEntry(fileRegistryKey(fileIdentity(path)!))).toBeUndefined()
    // Released on close: now another copy may have it.
    const later = await openHygienicConnection(node, path, { policy })
    later.close()
  })

  it('refuses the second copy on a fresh path too, and releases the claim when an open fails', async () => {
    const [better, node] = await Promise.all([createBetterSqlite3(), createNodeSqlite()])
    const dir = tempDir()
    const path = join(dir, 'fresh.db')
    const [first, second] = await Promise.allSettled([
      openHygienicConnection(better, path, { policy }),
      openHygienicConnection(node, path, { policy }),
    ])
    expect(first.status).toBe('fulfilled')
    expect(second.status === 'rejected' && second.reason).toBeInstanceOf(MixedSqliteCopies)
    if (first.status === 'fulfilled') first.value.close()
    await expect(openHygienicConnection(better, join(dir, 'no-such-dir', 'x.db'), { policy })).rejects.toThrow()
    const ok = await openHygienicConnection(node, join(dir, 'no-such-dir-2.db'), { policy })
    ok.close()
  })

  it('keeps the registry on globalThis, shared by every copy of core in the process', () => {
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('kanban-db.open-files')]).toBeInstanceOf(Map)
  })
})

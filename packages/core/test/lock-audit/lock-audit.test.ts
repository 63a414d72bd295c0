import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { LocksLost } from '@kanban-db/core'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import {
  assertLocksHeld, auditBoardLocks, auditLocks, inodeKey, lockAuditCapability, parseProcLocks,
} from '@kanban-db/core/internal'
import { tempDir } from '../temp-dir.js'

const linux = process.platform === 'linux'

/** A better-sqlite3 connection on a fresh WAL board that has written and read (so it holds its locks). */
async function openWalBoard(path: string): Promise<SqliteConnection> {
  const adapter = await createBetterSqlite3()
  const connection = await adapter.open(path)
  connection.exec('PRAGMA journal_mode=WAL')
  connection.exec('create table if not exists items (id integer primary key, name text)')
  connection.prepare('insert into items (name) values (?)').run(['one'])
  connection.prepare('select count(*) as n from items').all([])
  return connection
}

describe('parseProcLocks', () => {
  it('reads granted POSIX locks and skips waiters, flock and OFD locks', () => {
    const table = [
      '1: POSIX  ADVISORY  READ 9935 fe:00:2147046 128 128',
      '2: POSIX  ADVISORY  READ 9935 fe:00:2147026 1073741826 1073742335',
      '3: FLOCK  ADVISORY  WRITE 77 fe:00:12 0 EOF',
      '4: OFDLCK ADVISORY  READ -1 fe:00:13 0 EOF',
      '5: POSIX  ADVISORY  WRITE 12 00:2f:99 0 EOF',
      '5: -> POSIX  ADVISORY  WRITE 13 00:2f:99 0 EOF',
      '',
    ].join('\n')
    expect(parseProcLocks(table)).toEqual([
      { pid: 9935, inode: 'fe:0:2147046', range: { type: 'READ', start: 128, end: 128 } },
      { pid: 9935, inode: 'fe:0:2147026', range: { type: 'READ', start: 1073741826, end: 1073742335 } },
      { pid: 12, inode: '0:2f:99', range: { type: 'WRITE', start: 0, end: Infinity } },
    ])
  })

  it('encodes a stat dev/ino the way the kernel prints it', () => {
    expect(inodeKey({ dev: 0xfe00, ino: 2147046 })).toBe('fe:0:2147046')
    expect(inodeKey({ dev: 0x2f, ino: 5 })).toBe('0:2f:5')
    expect(inodeKey(undefined)).toBeUndefined()
  })
})

describe('lockAuditCapability', () => {
  it('declares the capability missing off Linux, and the audit then raises nothing', () => {
    expect(lockAuditCapability('darwin')).toEqual({ supported: false, reason: expect.stringContaining('darwin') })
    const audit = assertLocksHeld({ path: '/nowhere/board.db', platform: 'darwin' })
    expect(audit.supported).toBe(false)
    expect(audit.missing).toEqual([])
  })

  it('reports a missing lock table as unsupported with the reason', () => {
    const audit = auditLocks({ path: '/nowhere/board.db', platform: 'linux', procLocksPath: '/nowhere/locks' })
    expect(audit.supported).toBe(false)
    expect(audit.reason).toContain('/nowhere/locks')
  })
})

describe.skipIf(!linux)('auditLocks on real files (Linux)', () => {
  it('sees both protective locks of a connection that has read a WAL board', async () => {
    const path = join(tempDir(), 'board.db')
    const connection = await openWalBoard(path)
    try {
      const audit = assertLocksHeld({ path })
      expect(audit.supported).toBe(true)
      expect(audit.missing).toEqual([])
      expect(audit.databaseInode).toBe(inodeKey(statSync(path)))
      expect(audit.held.map((lock) => lock.file).sort()).toEqual(['database', 'shm'])
    } finally {
      connection.close()
    }
    // The control: with no connection open, nothing is held and both are reported missing.
    expect(auditLocks({ path }).missing).toEqual(['database-shared', 'shm-dms'])
  })

  it('H2: an fs read of the database drops the locks; the audit raises LocksLost; a reopen restores them', async () => {
    const path = join(tempDir(), 'board.db')
    let connection = await openWalBoard(path)
    try {
      expect(auditLocks({ path }).missing).toEqual([]) // control: held before the hazard
      readFileSync(path) // the hazard, reproduced on purpose
      let error: unknown
      try {
        assertLocksHeld({ path })
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(LocksLost)
      const locksLost = error as LocksLost
      expect(locksLost.code).toBe('LOCKS_LOST')
      expect(locksLost.message).toMatch(/H2/)
      expect(locksLost.message).toMatch(/Close every connection to this file in this process/)
      expect(locksLost.details.missing).toContain('database-shared')

      connection.close()
      connection = await openWalBoard(path)
      expect(assertLocksHeld({ path }).missing).toEqual([])
    } finally {
      connection.close()
    }
  })

  it('H2 on the -shm: an fs write+close of the -shm drops its DMS lock', async () => {
    const path = join(tempDir(), 'board.db')
    const connection = await openWalBoard(path)
    try {
      expect(auditLocks({ path }).missing).toEqual([])
      // Opening the -shm for append writes nothing and closes it: the process's locks on it go.
      writeFileSync(`${path}-shm`, '', { flag: 'a' })
      expect(auditLocks({ path }).missing).toEqual(['shm-dms'])
    } finally {
      connection.close()
    }
  })

  it('H1: a node:sqlite open/query/close beside better-sqlite3 drops the locks; a reopen restores them', async () => {
    const path = join(tempDir(), 'board.db')
    let connection = await openWalBoard(path)
    try {
      expect(auditLocks({ path }).missing).toEqual([])
      const second = new DatabaseSync(path) // the hazard: a second SQLite copy in this process
      second.prepare('select count(*) from items').get()
      second.close()
      expect(() => assertLocksHeld({ path })).toThrow(LocksLost)
      expect(auditLocks({ path }).missing).toContain('database-shared')

      connection.close()
      connection = await openWalBoard(path)
      expect(assertLocksHeld({ path }).missing).toEqual([])
    } finally {
      connection.close()
    }
  })

  it('audits another pid: a process that holds nothing on the file misses both locks', async () => {
    const path = join(tempDir(), 'board.db')
    const connection = await openWalBoard(path)
    try {
      expect(auditLocks({ path, pid: process.ppid }).missing).toEqual(['database-shared', 'shm-dms'])
    } finally {
      connection.close()
    }
  })
})

describe('auditBoardLocks', () => {
  const wal = { sharedFile: true, wal: true }

  it('is not applicable (never "lost") without a shared WAL file, with the reason', () => {
    const noFile = auditBoardLocks({ path: '/x/board.db', journalMode: 'memory', capabilities: { sharedFile: false, wal: false } })
    expect(noFile).toMatchObject({ supported: false, missing: [] })
    expect(noFile.reason).toMatch(/no shared file/)
    const deleteMode = auditBoardLocks({ path: '/x/board.db', journalMode: 'delete', capabilities: wal })
    expect(deleteMode).toMatchObject({ supported: false, missing: [] })
    expect(deleteMode.reason).toMatch(/journal_mode=delete/)
  })

  it.skipIf(!linux)('audits a WAL board: held, then missing after H2 (control first)', async () => {
    const path = join(tempDir(), 'board.db')
    const connection = await openWalBoard(path)
    try {
      expect(auditBoardLocks({ path, journalMode: 'wal', capabilities: wal }).missing).toEqual([])
      readFileSync(path) // the hazard
      expect(auditBoardLocks({ path, journalMode: 'wal', capabilities: wal }).missing).toEqual(['database-shared'])
    } finally {
      connection.close()
    }
  })
})

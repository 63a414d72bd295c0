import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { closeSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Corrupt, KanbanDbError, openBoard, type SqliteAdapter } from '@kanban-db/core'
import { checkBoard, classifyFailure, openRepairOf } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { fileHash, writeGarbageIntoPage } from './fixtures.js'

const fileAdapters = bundledAdapters.filter((entry) => entry.name !== 'sql.js')
const TASKS = 40

/**
 * A closed board with TASKS tasks whose bodies spread the `tasks` table over several pages while
 * `tasks_by_status` fits in one. It is left in DELETE mode, as a board restored from a copy is: the
 * next open takes the init path (the switch to WAL), where openBoard runs integrity_check.
 */
async function closedBoardOnInitPath(adapter: SqliteAdapter, path: string): Promise<{ pageSize: number }> {
  const board = await openBoard({ path, adapter })
  await board.createTasks(Array.from({ length: TASKS }, (_, i) => ({ title: `task ${i}`, body: `body ${i} `.padEnd(600, 'x') })))
  const pageSize = (await checkBoard(board)).header.pageSize
  await board.close()
  const connection = await adapter.open(path)
  try {
    connection.prepare('PRAGMA journal_mode = DELETE').all([])
  } finally {
    connection.close()
  }
  return { pageSize }
}

/** Reads facts through a short-lived read-only connection (closed before anyone touches the file with fs). */
async function readOnly<T>(adapter: SqliteAdapter, path: string, read: (all: (query: string) => Record<string, unknown>[]) => T): Promise<T> {
  const connection = await adapter.open(path, { readonly: true, create: false })
  try {
    return read((query) => connection.prepare(query).all([]))
  } finally {
    connection.close()
  }
}

const rootPage = (adapter: SqliteAdapter, path: string, name: string) =>
  readOnly(adapter, path, (all) => Number(all(`SELECT rootpage FROM sqlite_master WHERE name = '${name}'`)[0]!.rootpage))

const integrityCheck = (adapter: SqliteAdapter, path: string) =>
  readOnly(adapter, path, (all) => all('PRAGMA integrity_check').map((row) => String(Object.values(row)[0])))

/** The first byte of a page: 0x0a for a leaf index page. Only for files nobody has open. */
function pageType(path: string, page: number, pageSize: number): number {
  const fd = openSync(path, 'r') // --allow-fs: test, no connection has the file open
  try {
    const byte = Buffer.alloc(1)
    readSync(fd, byte, 0, 1, (page - 1) * pageSize)
    return byte[0]!
  } finally {
    closeSync(fd)
  }
}

/**
 * Overwrites an index leaf page with an empty, well-formed one: the index loses every entry (a lost
 * write). Only for files nobody has open.
 */
function emptyIndexLeaf(path: string, page: number, pageSize: number): void {
  const bytes = Buffer.alloc(pageSize, 0)
  bytes[0] = 0x0a
  bytes.writeUInt16BE(pageSize & 0xffff, 5)
  const fd = openSync(path, 'r+') // --allow-fs: test fault injection into a file nobody has open
  try {
    writeSync(fd, bytes, 0, pageSize, (page - 1) * pageSize)
  } finally {
    closeSync(fd)
  }
}

const copiesIn = (dir: string) => readdirSync(dir).filter((name) => name.includes('.corrupt-'))

async function openError(options: Parameters<typeof openBoard>[0]): Promise<unknown> {
  return openBoard(options).then(
    async (board) => {
      await board.close()
      return undefined
    },
    (caught: unknown) => caught,
  )
}

describe('corruption preservation on open', () => {
  for (const { name, create } of fileAdapters) {
    it(`${name}: damage confined to an index is rebuilt with REINDEX and reported, and the data is intact`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const { pageSize } = await closedBoardOnInitPath(adapter, path)
      const root = await rootPage(adapter, path, 'tasks_by_status')
      expect(pageType(path, root, pageSize)).toBe(0x0a)
      emptyIndexLeaf(path, root, pageSize)

      // Control: the damage is real, and every line of it is about the index.
      const problems = await integrityCheck(adapter, path)
      if (problems.length === 1 && problems[0] === 'ok') throw new Error('control did not reproduce the hazard')
      expect(problems.every((line) => line.includes('index tasks_by_status'))).toBe(true)

      const board = await openBoard({ path, adapter })
      try {
        expect(openRepairOf(board)).toMatchObject({ kind: 'reindex', indexes: ['tasks_by_status'], recheck: ['ok'] })
        expect(openRepairOf(board)?.problems).toEqual(problems)
        expect((await checkBoard(board, { integrity: true })).problems).toEqual([])
        const tasks = await board.listTasks()
        expect(tasks).toHaveLength(TASKS)
        expect(tasks.map((task) => task.title).sort()).toEqual(Array.from({ length: TASKS }, (_, i) => `task ${i}`).sort())
        await board.createTasks([{ title: 'after the repair' }])
        expect(await board.listTasks()).toHaveLength(TASKS + 1)
      } finally {
        await board.close()
      }
      expect(copiesIn(join(path, '..'))).toEqual([])
    })

    it(`${name}: a damaged table page leaves the original untouched, keeps a hashed copy and raises Corrupt naming it`, async () => {
      const adapter = await create()
      const dir = tempDir()
      const path = join(dir, 'board.db')
      const { pageSize } = await closedBoardOnInitPath(adapter, path)
      const root = await rootPage(adapter, path, 'tasks')
      writeGarbageIntoPage(path, root, pageSize)

      // Control: integrity_check sees the damage (or SQLite refuses to read past it).
      const control = await integrityCheck(adapter, path).catch((error: unknown) => [String(error)])
      if (control.length === 1 && control[0] === 'ok') throw new Error('control did not reproduce the hazard')

      const before = fileHash(path)
      const error = await openError({ path, adapter })
      expect(error).toBeInstanceOf(Corrupt)
      const corrupt = error as Corrupt
      const copyPath = String(corrupt.details.copyPath)
      expect(copyPath).toBe(`${path}.corrupt-${before.slice(0, 16)}`)
      expect(corrupt.message).toContain(copyPath)
      expect(corrupt.message).toContain('Restore the board from a backup')
      expect(corrupt.details.sha256).toBe(before)
      expect(fileHash(path)).toBe(before)
      expect(fileHash(copyPath)).toBe(before)
      expect(copiesIn(dir)).toEqual([copyPath.slice(dir.length + 1)])

      // A second open meets the same damage and the same copy; the original is still untouched.
      const again = await openError({ path, adapter })
      expect((again as Corrupt).details.copyPath).toBe(copyPath)
      expect(fileHash(path)).toBe(before)
      expect(copiesIn(dir)).toHaveLength(1)
    })
  }

  for (const { name, create } of bundledAdapters) {
    it(`${name}: Corrupt from the open policy's first read also keeps a hashed copy, with the original untouched`, async () => {
      const adapter = await create()
      const dir = tempDir()
      const path = join(dir, 'board.db')
      const board = await openBoard({ path, adapter })
      await board.createTasks(Array.from({ length: TASKS }, (_, i) => ({ title: `task ${i}`, body: 'x'.repeat(500) })))
      const pageSize = (await checkBoard(board)).header.pageSize
      await board.close()
      // Page 1 keeps its 100-byte header; its b-tree (sqlite_schema) becomes garbage.
      const garbage = Buffer.alloc(pageSize - 100)
      for (let i = 0; i < garbage.length; i += 1) garbage[i] = (i * 131 + 7) & 0xff
      const fd = openSync(path, 'r+') // --allow-fs: test fault injection into a file nobody has open
      try {
        writeSync(fd, garbage, 0, garbage.length, 100)
      } finally {
        closeSync(fd)
      }
      const control = await integrityCheck(adapter, path).catch((error: unknown) => [String(error)])
      if (control.length === 1 && control[0] === 'ok') throw new Error('control did not reproduce the hazard')

      const before = fileHash(path)
      const error = await openError({ path, adapter })
      expect(KanbanDbError.isKanbanDbError(error)).toBe(true)
      expect(fileHash(path)).toBe(before)
      if (!(error instanceof Corrupt)) {
        // SQLite may call a garbage schema page "not a database": that is NotADatabase, no copy.
        expect((error as KanbanDbError).code).toBe('NOT_A_DATABASE')
        return
      }
      const copyPath = String(error.details.copyPath)
      expect(error.message).toContain(copyPath)
      expect(fileHash(copyPath)).toBe(before)
    })
  }

  for (const { name, create } of fileAdapters) {
    it(`${name}: a damaged board with a -wal another process left behind keeps both, untouched, and copies both`, async () => {
      const adapter = await create()
      const dir = tempDir()
      const path = join(dir, 'board.db')
      const board = await openBoard({ path, adapter })
      await board.createTasks(Array.from({ length: TASKS }, (_, i) => ({ title: `task ${i}`, body: 'x'.repeat(500) })))
      const pageSize = (await checkBoard(board)).header.pageSize
      await board.close()
      await killedMidWal(path)
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(0)
      // Page 1 keeps its 100-byte header; its b-tree (sqlite_schema) becomes garbage. The WAL holds no copy of page 1.
      const garbage = Buffer.alloc(pageSize - 100)
      for (let i = 0; i < garbage.length; i += 1) garbage[i] = (i * 131 + 7) & 0xff
      const fd = openSync(path, 'r+') // --allow-fs: test fault injection into a file nobody has open
      try {
        writeSync(fd, garbage, 0, garbage.length, 100)
      } finally {
        closeSync(fd)
      }
      const control = await integrityCheck(adapter, path).catch((error: unknown) => [String(error)])
      if (control.length === 1 && control[0] === 'ok') throw new Error('control did not reproduce the hazard')

      const before = { db: fileHash(path), wal: fileHash(`${path}-wal`) }
      const error = await openError({ path, adapter })
      expect(error).toBeInstanceOf(Corrupt)
      const { copyPath, walCopyPath } = (error as Corrupt).details as { copyPath: string; walCopyPath: string }
      expect(walCopyPath).toBe(`${copyPath}-wal`)
      expect((error as Corrupt).message).toContain(walCopyPath)
      expect({ db: fileHash(path), wal: fileHash(`${path}-wal`) }).toEqual(before)
      expect({ db: fileHash(copyPath), wal: fileHash(walCopyPath) }).toEqual(before)
    })
  }

  it('the look before the init path never opens a file this process holds through another SQLite copy (H1)', async () => {
    const [first, second] = await Promise.all(fileAdapters.map(({ create }) => create()))
    const dir = tempDir()

    // Control: a plain open and close of a held board through the other copy drops the holder's locks.
    const controlPath = join(dir, 'control.db')
    const control = await openBoard({ path: controlPath, adapter: first! })
    try {
      expect((await control.health()).locksMissing).toEqual([])
      const stray = await second!.open(controlPath, { readonly: true, create: false })
      stray.prepare('PRAGMA journal_mode').all([])
      stray.close()
      if ((await control.health()).locksMissing?.length === 0) throw new Error('control did not reproduce the hazard')
    } finally {
      await control.close()
    }

    const path = join(dir, 'board.db')
    const board = await openBoard({ path, adapter: first! })
    try {
      const error = await openError({ path, adapter: second! })
      expect((error as KanbanDbError).code).toBe('MIXED_SQLITE_COPIES')
      expect((await board.health()).locksMissing).toEqual([])
    } finally {
      await board.close()
    }
  })

  it('better-sqlite3 and node:sqlite: a board another process holds EXCLUSIVE is busy, never corrupt, and no copy is made', async () => {
    for (const { create } of fileAdapters) {
      const adapter = await create()
      const dir = tempDir()
      const path = join(dir, 'board.db')
      await closedBoardOnInitPath(adapter, path)
      const holder = holdExclusive(path)
      try {
        await holder.locked

        // Control: the other process's lock really keeps this one out.
        const control = await integrityCheck(adapter, path).then(
          () => undefined,
          (caught: unknown) => caught,
        )
        if (control === undefined) throw new Error('control did not reproduce the hazard')

        const error = await openError({ path, adapter, policy: { busyTimeoutMs: 50, initLockTimeoutMs: 50 } })
        expect(KanbanDbError.isKanbanDbError(error)).toBe(true)
        expect(error).not.toBeInstanceOf(Corrupt)
        expect(classifyFailure(error)).toBe('transient')
        expect(copiesIn(dir)).toEqual([])
      } finally {
        await holder.release()
      }
      const board = await openBoard({ path, adapter })
      expect(await board.listTasks()).toHaveLength(TASKS)
      await board.close()
    }
  })
})

/**
 * A child process (better-sqlite3) that takes an EXCLUSIVE lock on the board and holds it until told
 * to let go. It reports by IPC; nothing here sleeps.
 */
function holdExclusive(path: string): { locked: Promise<void>; release: () => Promise<void> } {
  const script = `
    const Database = require('better-sqlite3')
    const db = new Database(process.argv[1])
    db.exec('BEGIN EXCLUSIVE')
    process.send({ type: 'locked' })
    process.on('message', () => { db.exec('ROLLBACK'); db.close(); process.disconnect() })
  `
  const cwd = fileURLToPath(new URL('../../../adapter-better-sqlite3/', import.meta.url))
  const child = spawn(process.execPath, ['-e', script, path], { cwd, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const locked = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    void exited.then(() => reject(new Error(`lock holder exited before locking: ${stderr}`)))
  })
  return {
    locked,
    release: async () => {
      if (child.connected) child.send({ type: 'release' })
      else child.kill('SIGKILL')
      await exited
    },
  }
}


/**
 * A child process (better-sqlite3) that rewrites every task's title with automatic checkpoints off,
 * then kills itself with SIGKILL: the committed pages stay in a non-empty -wal beside the board.
 */
async function killedMidWal(path: string): Promise<void> {
  const script = `
    const Database = require('better-sqlite3')
    const db = new Database(process.argv[1])
    db.pragma('wal_autocheckpoint = 0')
    db.exec("UPDATE tasks SET title = title || ' (rewritten)'")
    process.kill(process.pid, 'SIGKILL')
  `
  const cwd = fileURLToPath(new URL('../../../adapter-better-sqlite3/', import.meta.url))
  const child = spawn(process.execPath, ['-e', script, path], { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
  if (signal !== 'SIGKILL') throw new Error(`the writer was expected to die by SIGKILL: ${stderr}`)
}

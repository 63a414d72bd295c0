import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openBoard } from '@kanban-db/core'
import { checkBoard } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

const hasPython = spawnSync('python3', ['-c', 'import sqlite3'], { stdio: 'ignore' }).status === 0

/** What Python's sqlite3 (a real foreign SQLite client, in its own process) reads from `path` as given. */
function pythonTitles(path: string, cwd: string): string[] {
  const out = execFileSync(
    'python3',
    ['-c', 'import sqlite3, sys, json\nc = sqlite3.connect(sys.argv[1])\nprint(json.dumps(sorted(r[0] for r in c.execute("select title from tasks"))))\nc.close()', path],
    { cwd, encoding: 'utf8' },
  )
  return JSON.parse(out.trim()) as string[]
}

describe.each(bundledAdapters)('the board path is resolved once to the real file ($name)', ({ name, create }) => {
  it('through a symbolic link to the file: board.path, health() and checkBoard report the real file and its -wal; lock files are named from it', async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'real'))
    mkdirSync(join(dir, 'links'))
    const real = join(dir, 'real', 'board.db')
    const link = join(dir, 'links', 'board.db')
    symlinkSync(real, link) // dangling until the first open creates the file through it, as SQLite does
    const adapter = await create()
    const board = await openBoard({ path: link, adapter })
    try {
      await board.createTasks(Array.from({ length: 50 }, (_, index) => ({ title: `task ${index}`, body: 'x'.repeat(500) })))
      if (adapter.capabilities.wal) {
        const walOnDisk = statSync(`${real}-wal`).size
        expect(walOnDisk, 'the writes left nothing in the real -wal').toBeGreaterThan(0)
        expect(existsSync(`${link}-wal`), 'a -wal beside the link').toBe(false)
        const health = await board.health()
        expect(health.walBytes).toBe(walOnDisk)
        expect(health.path).toBe(real)
        expect((await checkBoard(board)).walBytes).toBe(walOnDisk)
      }
      if (adapter.capabilities.crossProcessLock) {
        expect(existsSync(`${real}.init-lock`), 'the init lock is not beside the real file').toBe(true)
        expect(existsSync(`${link}.init-lock`), 'an init lock named from the link').toBe(false)
      }
      expect(board.path).toBe(real)
    } finally {
      await board.close()
    }
    // Another way of naming the same file opens the same board.
    const again = await openBoard({ path: real, adapter })
    try {
      expect(again.path).toBe(real)
      expect(await again.listTasks({ limit: 100 })).toHaveLength(50)
    } finally {
      await again.close()
    }
  })

  it.skipIf(!hasPython)("a/sub/../board.db with sub a link: the file the kernel and other SQLite clients open, not the text's a/board.db", async () => {
    const dir = tempDir()
    mkdirSync(join(dir, 'a'))
    mkdirSync(join(dir, 'other', 'deep'), { recursive: true })
    symlinkSync(join(dir, 'other', 'deep'), join(dir, 'a', 'sub'))
    // Built by hand: path.join would normalise the `..` as text, which is the mistake under test.
    const dotted = `${dir}/a/sub/../board.db`
    expect(join(dotted)).toBe(join(dir, 'a', 'board.db'))
    const adapter = await create()
    const board = await openBoard({ path: dotted, adapter })
    const boardPath = board.path
    try {
      await board.createTask({ title: `written through ${name}` })
    } finally {
      await board.close()
    }
    expect(existsSync(join(dir, 'other', 'board.db'))).toBe(true)
    expect(existsSync(join(dir, 'a', 'board.db')), 'the board was created where the text, not the OS, points').toBe(false)
    // The kernel's own resolution of the same string names that file...
    const kernel = statSync(dotted)
    const opened = statSync(join(dir, 'other', 'board.db'))
    expect([kernel.dev, kernel.ino]).toEqual([opened.dev, opened.ino])
    // ...and so does another SQLite client in another process, given the string as it is (relative, too).
    expect(pythonTitles(dotted, dir)).toEqual([`written through ${name}`])
    expect(pythonTitles('a/sub/../board.db', dir)).toEqual([`written through ${name}`])
    expect(boardPath).toBe(join(dir, 'other', 'board.db'))
  })
})

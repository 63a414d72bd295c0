import { chmodSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Corrupt, openBoard, type SqliteAdapter } from '@kanban-db/core'
import { checkBoard } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { writeGarbageIntoPage } from '../corruption/fixtures.js'
import { tempDir } from '../temp-dir.js'

const modeOf = (path: string) => statSync(path).mode & 0o777
const octal = (mode: number) => `0${mode.toString(8)}`

/** Every file in `dir` (but the board itself) with its mode, as `name 0600`. */
const modesIn = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name !== 'board.db')
    .sort()
    .map((name) => `${name} ${octal(modeOf(join(dir, name)))}`)

let umask: number
beforeAll(() => {
  // The usual umask: files anyone creates without a mode come out 0644.
  umask = process.umask(0o022)
})
afterAll(() => {
  process.umask(umask)
})

/** An empty 0600 file at `path`: a fresh board its owner made private before the first open. */
function privateEmptyBoard(path: string): void {
  writeFileSync(path, '', { mode: 0o600 })
  chmodSync(path, 0o600)
}

describe.each(bundledAdapters)('files beside a 0600 board under umask 022 get its mode ($name)', ({ name, create }) => {
  it('lock files, sidecars, the online backup and the board itself after close', async () => {
    const dir = tempDir()
    const path = join(dir, 'board.db')
    privateEmptyBoard(path)
    const adapter: SqliteAdapter = await create()
    // Control: a file created with no mode under this umask is 0644.
    writeFileSync(join(dir, 'control'), '')
    expect(modeOf(join(dir, 'control'))).toBe(0o644)

    const board = await openBoard({ path, adapter })
    let backupPath: string | undefined
    try {
      await board.createTask({ title: 'private' })
      // The dispatcher's tick lock and any named lock follow the <board>.<name>-lock convention.
      const dispatchLock = await adapter.acquireLock(`${path}.dispatch-lock`, { timeoutMs: 0 })
      dispatchLock.release()
      if (adapter.capabilities.onlineBackup) {
        backupPath = join(dir, 'backup.db')
        await board.backupTo(backupPath)
      }
    } finally {
      await board.close()
    }
    const files = modesIn(dir).filter((entry) => !entry.startsWith('control '))
    expect(files.length, 'no file was created beside the board').toBeGreaterThan(0)
    expect(files.filter((entry) => !entry.endsWith(' 0600')), 'files beside a 0600 board with another mode').toEqual([])
    expect(modeOf(path), 'the board itself').toBe(0o600)
    if (adapter.capabilities.crossProcessLock) expect(files).toEqual(expect.arrayContaining(['board.db.init-lock 0600', 'board.db.dispatch-lock 0600']))
    if (backupPath !== undefined) {
      expect(files).toContain('backup.db 0600')
      const copy = await openBoard({ path: backupPath, adapter, readonly: true })
      try {
        expect((await copy.listTasks()).map((task) => task.title)).toEqual(['private'])
      } finally {
        await copy.close()
      }
    }
  })

  // sql.js loads a damaged image and never keeps a copy of it (no shared file, no init-path check).
  it.skipIf(name === 'sql.js')('the copy kept of a damaged board', async () => {
    const adapter: SqliteAdapter = await create()
    const dir = tempDir()
    const path = join(dir, 'board.db')
    privateEmptyBoard(path)
    const board = await openBoard({ path, adapter })
    await board.createTasks(Array.from({ length: 40 }, (_, index) => ({ title: `task ${index}`, body: 'x'.repeat(600) })))
    const pageSize = (await checkBoard(board)).header.pageSize
    await board.close()
    const connection = await adapter.open(path)
    let root: number
    try {
      connection.prepare('PRAGMA journal_mode = DELETE').all([])
      root = Number(connection.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").all([])[0]!.rootpage)
    } finally {
      connection.close()
    }
    writeGarbageIntoPage(path, root, pageSize) // nobody has it open
    const error = await openBoard({ path, adapter }).then(
      async (opened) => {
        await opened.close()
        return undefined
      },
      (caught: unknown) => caught,
    )
    expect(error).toBeInstanceOf(Corrupt)
    const copyPath = String((error as Corrupt).details.copyPath)
    expect(octal(modeOf(copyPath))).toBe('0600')
    expect(modesIn(dir).filter((entry) => !entry.endsWith(' 0600'))).toEqual([])
  })
})

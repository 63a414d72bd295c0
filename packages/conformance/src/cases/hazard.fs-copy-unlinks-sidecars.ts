import { strict as assert } from 'node:assert'
import { execFile, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync } from 'node:fs'
import { promisify } from 'node:util'
import type { HygienicConnection } from '@kanban-db/core/internal'
import type { CaseContext, ConformanceCase } from '../case.js'
import { damageOf, deletedSidecarFds, ghostCheckCode, insertRows, openHazardBoard, readInFreshProcess, type BoardView } from './hazard.board-scenario.js'

const run = promisify(execFile)

/** An old-SQLite process that opens the board, commits one row and closes (the last closer). */
interface OldSqliteCloser {
  readonly name: string
  close(path: string): Promise<void>
}

/**
 * H2 (docs/sqlite-wal-facts.md §2): a plain `fs` copy of the database and its sidecars, made
 * in the process that holds the board while another process writes, drops that process's POSIX
 * locks; an older SQLite (3.40: Python's sqlite3 or Debian's shell, what a mixed fleet runs) closing
 * last then unlinks the live -wal/-shm, and the holder's later commits are lost. Control: the fs copy.
 * Protection: `backupTo` (the driver's online backup) under the same load loses nothing, and the
 * backup passes integrity_check and opens as a board.
 */
export const fsCopyUnlinksSidecars: ConformanceCase = {
  id: 'hazard.fs-copy-unlinks-sidecars',
  title: 'an fs copy of a live board lets an old-SQLite closer unlink its sidecars (H2); backupTo under the same load loses nothing',
  tier: 'corruption',
  requires: ['sharedFile', 'wal', 'onlineBackup'],
  timeoutMs: 90_000,
  async run(context) {
    const closer = findOldSqliteCloser()
    if (!closer) return context.skip('needs an old-SQLite closer (python3 with sqlite3, or the sqlite3 shell) on PATH; neither was found')
    const control = await scenario(context, 'control', closer, async (_board, path) => {
      // The hazard itself: a naive file-copy "backup" of the live board. --allow-fs: the control
      for (const suffix of ['', '-wal', '-shm']) {
        if (existsSync(`${path}${suffix}`)) copyFileSync(`${path}${suffix}`, context.path(`fs-copy.db${suffix}`))
      }
    })
    context.note(`control (fs copy, closer: ${closer.name}): ${control.damage.join('; ') || 'no damage'}`)
    if (control.damage.length === 0) throw new Error('control did not reproduce the hazard: the fs copy plus an old-SQLite closer lost nothing')
    assert.ok(control.detected, 'checkGhost did not notice the lost locks right after the fs copy')
    context.note(`detected: checkGhost raised ${control.detected} right after the fs copy, before the old-SQLite closer ran`)

    const backupPath = context.path('online-backup.db')
    const protectedRun = await scenario(context, 'protected', closer, async (board) => {
      await board.backupTo(backupPath)
    })
    assert.deepEqual(protectedRun.damage, [], `backupTo under the same load caused damage: ${protectedRun.damage.join('; ')}`)
    assert.equal(protectedRun.detected, undefined, 'checkGhost raised after backupTo')
    const restored = await openHazardBoard(context.adapter, backupPath)
    try {
      const names = restored.connection.prepare('SELECT name FROM items').all([]).map((row) => String(row.name))
      assert.ok(names.filter((name) => name.startsWith('held-before-')).length === 5, `the backup misses rows committed before it: ${names.join(', ')}`)
      assert.equal(String(Object.values(restored.connection.prepare('PRAGMA integrity_check').all([])[0] ?? {})[0]), 'ok')
      context.note(`protected: backupTo under load, ${closer.name} closing last: no damage; the backup opens as a board with ${names.length} rows, integrity ok`)
    } finally {
      restored.close()
    }
  },
}

async function scenario(
  context: CaseContext,
  name: string,
  closer: OldSqliteCloser,
  copy: (board: HygienicConnection, path: string) => Promise<void>,
): Promise<{ damage: string[]; detected: string | undefined }> {
  const path = context.path(`${name}.db`)
  const board = await openHazardBoard(context.adapter, path)
  const expected: string[] = []
  let deleted = 0
  let detected: string | undefined
  const views: Record<string, BoardView> = {}
  try {
    expected.push(...insertRows(board.connection, 'held-before', 5))
    // The copy starts once the writer has committed 50 of its 400 rows and is still writing.
    const writer = context.spawn<{ names: string[] }>('hygiene-write-rows', { path, count: 400, prefix: 'writer', signalAfter: 50 })
    await writer.receive().catch(async (error: unknown) => {
      await writer.result // the writer's own error, when it failed
      throw error
    })
    await copy(board, path)
    detected = ghostCheckCode(board)
    expected.push(...(await writer.result).names)
    await closer.close(path)
    expected.push('old-sqlite-closer')
    expected.push(...insertRows(board.connection, 'held-after', 5))
    deleted = deletedSidecarFds(path)
    views['while the board is open'] = await readInFreshProcess(context, path)
  } finally {
    board.close()
  }
  views['after the board closed'] = await readInFreshProcess(context, path)
  return { damage: damageOf(expected, views, deleted), detected }
}

function findOldSqliteCloser(): OldSqliteCloser | undefined {
  const python = spawnSync('python3', ['-c', 'import sqlite3; print(sqlite3.sqlite_version)'], { encoding: 'utf8' })
  if (python.status === 0) {
    const script = [
      'import sqlite3, sys',
      'c = sqlite3.connect(sys.argv[1], timeout=10)',
      "c.execute(\"INSERT INTO items (name) VALUES ('old-sqlite-closer')\")",
      'c.commit()',
      'c.close()',
    ].join('\n')
    return { name: `python3 sqlite3 ${python.stdout.trim()}`, close: async (path) => void (await run('python3', ['-c', script, path])) }
  }
  const shell = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' })
  if (shell.status === 0) {
    return {
      name: `sqlite3 shell ${shell.stdout.split(' ')[0]}`,
      close: async (path) => void (await run('sqlite3', ['-cmd', '.timeout 10000', path, "INSERT INTO items (name) VALUES ('old-sqlite-closer');"])),
    }
  }
  return undefined
}

import { createRequire } from 'node:module'
import type { DatabaseSync } from 'node:sqlite'
import { BoardOpenElsewhere } from '@kanban-db/core'
import { applyFileMode, fileModeOf, realBoardPath } from '@kanban-db/core/adapter'

const require = createRequire(import.meta.url)

/** One process's hold on a file's private image (see {@link claimPrivateImage}). */
export interface ImageClaim {
  release(): void
}

interface HeldImage {
  readonly lockPath: string
  readonly lock: DatabaseSync
  count: number
}

const HELD = Symbol.for('kanban-db.sql-js-private-images')
/** Writable images held by this process, by the board's real path (shared by duplicate copies of this package). */
const heldImages: Map<string, HeldImage> = ((globalThis as Record<symbol, unknown>)[HELD] ??= new Map<string, HeldImage>()) as Map<string, HeldImage>

/**
 * Takes this process's hold on the writable image of `path`: a cross-process lock, an EXCLUSIVE
 * SQLite lock (a POSIX lock the kernel releases when its holder dies) on `<real path>.sqljs-lock`,
 * a small lock database of its own taken through Node's built-in SQLite (sql.js itself has no file
 * locks), never the board file. A second process that wants a writable image of the same file meets
 * the lock and gets {@link BoardOpenElsewhere}; a crashed holder leaves nothing to clean up.
 *
 * Within one process the hold is counted, not exclusive: core's open-file registry refuses a second
 * board on the file in this process (`BoardInUse`), and raw connections stay the caller's business.
 * The lock file gets the board file's mode. Worker threads each have their own count, but share the
 * process's SQLite lock table, so a second thread's writable image is refused like another process's.
 */
export function claimPrivateImage(path: string): ImageClaim {
  const realPath = realBoardPath(path)
  let held = heldImages.get(realPath)
  if (held === undefined) {
    const lockPath = `${realPath}.sqljs-lock`
    const { DatabaseSync: Sqlite } = require('node:sqlite') as typeof import('node:sqlite')
    const lock = new Sqlite(lockPath, { timeout: 0 })
    try {
      applyFileMode(lockPath, fileModeOf(realPath))
      lock.exec('BEGIN EXCLUSIVE')
    } catch (error) {
      lock.close()
      if (!isBusy(error)) throw error
      throw new BoardOpenElsewhere(
        `Another process (or another thread of this one) has ${realPath} open through sql.js (it holds ${lockPath}). sql.js keeps a private in-memory image of the ` +
          'file and writes it back at close, so two processes on one file would each overwrite the other\'s acknowledged writes. ' +
          'Close the board in the other process first, or share the board between processes through an adapter with a shared file ' +
          '(@kanban-db/adapter-better-sqlite3 or @kanban-db/adapter-node-sqlite).',
        { cause: error, sqliteCode: 'SQLITE_BUSY', details: { path: realPath, lockPath } },
      )
    }
    held = { lockPath, lock, count: 0 }
    heldImages.set(realPath, held)
  }
  held.count += 1
  const holding = held
  let released = false
  return {
    release() {
      if (released) return
      released = true
      holding.count -= 1
      if (holding.count > 0) return
      heldImages.delete(realPath)
      try {
        holding.lock.exec('ROLLBACK')
      } finally {
        holding.lock.close()
      }
    },
  }
}

/** True for node:sqlite's busy or locked error on the lock database (another holder). */
function isBusy(error: unknown): boolean {
  const { errcode, code } = (error ?? {}) as { errcode?: unknown; code?: unknown }
  return errcode === 5 || errcode === 6 || code === 'SQLITE_BUSY' || /database is locked/i.test(error instanceof Error ? error.message : '')
}

import { setTimeout as delay } from 'node:timers/promises'
import type { AcquireLockOptions, OpenOptions, ProcessLock } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { LockTimeout } from '../errors/errors.js'
import { sqliteCodeOf, primaryCode } from '../errors/sqlite-codes.js'
import { applyFileMode, lockFileMode } from './file-mode.js'

// Exported with the locks (this module is part of core's public surface): adapters that keep locks
// of their own name them from a board's real path and give them the board file's mode.
export { applyFileMode, fileModeOf } from './file-mode.js'
export { realBoardPath } from './real-path.js'

type Open = (path: string, options?: OpenOptions) => Promise<SqliteConnection>

const HELD = Symbol.for('kanban-db.process-locks-held')
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[HELD] ??= new Set<string>()) as Set<string>

/**
 * A cross-process lock held as an EXCLUSIVE SQLite lock on a small lock database of its own
 * (`lockPath`, never the board itself). The kernel drops the POSIX lock under it when the holder
 * dies, so a crash never leaves a stale lock behind. Waiters poll with a short jittered pause until
 * `timeoutMs`, then reject with {@link LockTimeout}.
 *
 * Locks in one process are also tracked in a process-wide set, because POSIX locks of two SQLite
 * copies in one process do not exclude each other.
 *
 * Adapters whose driver opens real files implement `SqliteAdapter.acquireLock` by calling this with
 * their own `open`.
 *
 * The lock file gets `options.mode`, or the mode of the board it is named after (`<board>.<name>-lock`),
 * so a 0600 board never has a 0644 lock file beside it (SQLite creates files 0644 under umask 022).
 *
 * Keep the returned lock referenced until `release()`: the drivers close a garbage-collected
 * connection, and with it the lock (seen in `concurrency.first-open-race` when a holder dropped it).
 */
export async function acquireLockWith(open: Open, lockPath: string, options: AcquireLockOptions): Promise<ProcessLock> {
  const deadline = Date.now() + options.timeoutMs
  const mode = lockFileMode(lockPath, options.mode)
  let pause = 1
  for (;;) {
    if (!held.has(lockPath)) {
      const connection = await open(lockPath, { create: true })
      try {
        applyFileMode(lockPath, mode)
        connection.exec('BEGIN EXCLUSIVE')
        held.add(lockPath)
        return lockOn(connection, lockPath)
      } catch (error) {
        connection.close()
        const code = sqliteCodeOf(error)
        if (code === undefined || primaryCode(code) !== 'SQLITE_BUSY') throw error
      }
    }
    if (Date.now() >= deadline) {
      throw new LockTimeout(
        `Could not take the lock ${lockPath} within ${options.timeoutMs} ms: another process (or another board in this one) holds it. ` +
          'If no kanban-db process is running, nothing needs cleaning up (the kernel released a dead holder\'s lock); raise the timeout if initialisation is slow.',
        { details: { lockPath, timeoutMs: options.timeoutMs } },
      )
    }
    await delay(Math.min(pause + Math.random() * pause, Math.max(1, deadline - Date.now())))
    pause = Math.min(pause * 2, 50)
  }
}

function lockOn(connection: SqliteConnection, lockPath: string): ProcessLock {
  let released = false
  return {
    release() {
      if (released) return
      released = true
      held.delete(lockPath)
      try {
        connection.exec('ROLLBACK')
      } finally {
        connection.close()
      }
    },
  }
}

/**
 * The lock for adapters without `crossProcessLock` (sql.js): it excludes other callers in this
 * process only, with the same timeout behaviour.
 */
export async function acquireInProcessLock(lockPath: string, options: AcquireLockOptions): Promise<ProcessLock> {
  const deadline = Date.now() + options.timeoutMs
  let pause = 1
  while (held.has(lockPath)) {
    if (Date.now() >= deadline) {
      throw new LockTimeout(`Could not take the in-process lock ${lockPath} within ${options.timeoutMs} ms: another board in this process holds it.`, {
        details: { lockPath, timeoutMs: options.timeoutMs },
      })
    }
    await delay(pause)
    pause = Math.min(pause * 2, 50)
  }
  held.add(lockPath)
  let released = false
  return {
    release() {
      if (!released) {
        released = true
        held.delete(lockPath)
      }
    },
  }
}

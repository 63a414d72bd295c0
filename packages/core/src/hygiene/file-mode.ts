import { chmodSync, statSync } from 'node:fs'

/**
 * The permission bits of the file at `path` (`stat`, never an open), or undefined when nothing is
 * there. Copies and lock files of a board take these bits, so a 0600 board under umask 022 never
 * gets a world-readable 0644 backup, quarantine copy or lock file beside it.
 */
export function fileModeOf(path: string): number | undefined {
  if (path === ':memory:' || path === '') return undefined
  const stats = statSync(path, { throwIfNoEntry: false })
  return stats === undefined ? undefined : stats.mode & 0o7777
}

/**
 * Gives `path` the permission bits `mode` (chmod is not subject to the umask). A file this process
 * may not chmod (another user's lock file) or that vanished is left as it is: its mode was set by
 * whoever created it.
 */
export function applyFileMode(path: string, mode: number | undefined): void {
  if (mode === undefined) return
  const stats = statSync(path, { throwIfNoEntry: false })
  if (stats === undefined || (stats.mode & 0o7777) === mode) return
  try {
    chmodSync(path, mode)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code !== 'EPERM' && code !== 'ENOENT') throw error
  }
}

/**
 * The board a lock file named by the convention `<board>.<name>-lock` (`.init-lock`,
 * `.dispatch-lock`, `tryLock` names) belongs to, or undefined for another name.
 */
export function lockOwnerPath(lockPath: string): string | undefined {
  const match = /^(.+)\.[a-z][a-z0-9-]*-lock$/.exec(lockPath)
  return match?.[1]
}

/** The mode a lock file gets: `explicit` when given, else its board's (see {@link lockOwnerPath}), else undefined (SQLite's default). */
export function lockFileMode(lockPath: string, explicit: number | undefined): number | undefined {
  if (explicit !== undefined) return explicit
  const owner = lockOwnerPath(lockPath)
  return owner === undefined ? undefined : fileModeOf(owner)
}

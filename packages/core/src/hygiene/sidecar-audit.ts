import { readdirSync, readlinkSync } from 'node:fs'

/** What this process's open file descriptors say about one database (Linux `/proc/self/fd`). */
export interface SidecarAudit {
  /**
   * Descriptors pointing at `<db>-wal (deleted)` or `<db>-shm (deleted)`: the sidecars were unlinked
   * while this process still uses them (H1, H2 or H3 happened). Zero on a healthy board.
   */
  readonly deletedSidecarFds: number
  /** Every open descriptor of this process, to watch for leaks. */
  readonly openFds: number
}

const FD_DIR = '/proc/self/fd'

/**
 * Counts this process's descriptors on `<realDatabasePath>-wal`/`-shm` that point at unlinked files,
 * by `readlink` on `/proc/self/fd` (no file is opened). `realDatabasePath` must be the database's
 * path with symlinks resolved, as the kernel reports it. Undefined where `/proc` is not available.
 */
export function auditSidecars(realDatabasePath: string): SidecarAudit | undefined {
  let entries: string[]
  try {
    entries = readdirSync(FD_DIR)
  } catch {
    return undefined
  }
  const deleted = new Set([`${realDatabasePath}-wal (deleted)`, `${realDatabasePath}-shm (deleted)`])
  let deletedSidecarFds = 0
  let openFds = 0
  for (const entry of entries) {
    let target: string
    try {
      target = readlinkSync(`${FD_DIR}/${entry}`)
    } catch {
      continue // closed between readdir and readlink (the directory's own descriptor, for one)
    }
    openFds += 1
    if (deleted.has(target)) deletedSidecarFds += 1
  }
  return { deletedSidecarFds, openFds }
}

/** This process's open descriptor count, or undefined where `/proc` is not available. */
export function countOpenFds(): number | undefined {
  try {
    return readdirSync(FD_DIR).length
  } catch {
    return undefined
  }
}

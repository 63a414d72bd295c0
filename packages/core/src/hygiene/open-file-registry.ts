import { resolve } from 'node:path'
import type { AdapterIdentity } from '../adapter/sqlite-adapter.js'
import { MixedSqliteCopies } from '../errors/errors.js'
import { fileIdentity, fileKey, type FileIdentity } from './file-identity.js'

/** One file this process holds open through hygienic connections of one SQLite copy. */
export interface OpenFileEntry {
  /** The SQLite copy (`AdapterIdentity.sqliteCopy`) every connection to this file uses. */
  readonly sqliteCopy: string
  /** The adapter name, for messages. */
  readonly adapterName: string
  /** The path the first connection used. */
  readonly path: string
  /** How many hygienic connections hold the file. */
  count: number
}

/** A claim on a file in the registry; `release()` gives it back (twice is a no-op). */
export interface OpenFileClaim {
  release(): void
}

const REGISTRY = Symbol.for('kanban-db.open-files')

/**
 * The process-wide registry of files held by hygienic connections, keyed by device and inode (and
 * by absolute path while a fresh file is being created). It lives on `globalThis` under a
 * `Symbol.for` key, so duplicate copies of @kanban-db/core in one process (an ESM and a CJS build,
 * two installed versions) share it.
 */
function registry(): Map<string, OpenFileEntry> {
  const global = globalThis as Record<symbol, unknown>
  return (global[REGISTRY] ??= new Map<string, OpenFileEntry>()) as Map<string, OpenFileEntry>
}

/** The registry key for a file that does not exist yet. */
export function pendingRegistryKey(path: string): string {
  return `path:${resolve(path)}`
}

/** The registry key for an existing file. */
export function fileRegistryKey(identity: FileIdentity): string {
  return `inode:${fileKey(identity)}`
}

/**
 * Throws `MixedSqliteCopies` when any of `keys` is held through a SQLite copy other than
 * `adapter.sqliteCopy` (hazard H1: closing a connection of one copy drops the POSIX locks the other
 * copy holds on the same file, and the next close elsewhere unlinks live sidecars).
 */
export function assertSameSqliteCopy(keys: readonly string[], adapter: AdapterIdentity, path: string): void {
  for (const key of keys) {
    const entry = liveEntry(key)
    if (entry && entry.sqliteCopy !== adapter.sqliteCopy) {
      throw new MixedSqliteCopies(
        `Refusing to open ${path} with ${adapter.name} (SQLite ${adapter.sqliteVersion}, copy ${adapter.sqliteCopy}): ` +
          `this process already holds it open through ${entry.adapterName} (copy ${entry.sqliteCopy}). ` +
          'Two SQLite libraries in one process drop each other\'s file locks, and another process can then delete the live -wal/-shm and lose rows. ' +
          'Use one adapter per file per process: open it with the same adapter, or close the other connection first.',
        { details: { path, heldBy: entry.adapterName, heldCopy: entry.sqliteCopy, refused: adapter.name, refusedCopy: adapter.sqliteCopy } },
      )
    }
  }
}

/** True when this process already holds any of `keys` open through a hygienic connection. */
export function isFileHeld(keys: readonly string[]): boolean {
  return keys.some((key) => liveEntry(key) !== undefined)
}

/**
 * Records that this process holds the file under `key` through `adapter`'s SQLite copy, after
 * checking it is not held through another copy.
 */
export function claimOpenFile(key: string, adapter: AdapterIdentity, path: string): OpenFileClaim {
  assertSameSqliteCopy([key], adapter, path)
  const files = registry()
  let entry = liveEntry(key)
  if (entry) entry.count += 1
  else {
    // A new entry (replacing a stale one whose file is gone and whose inode was reused).
    entry = { sqliteCopy: adapter.sqliteCopy, adapterName: adapter.name, path, count: 1 }
    files.set(key, entry)
  }
  const held = entry
  let released = false
  return {
    release() {
      if (released) return
      released = true
      held.count -= 1
      if (held.count <= 0 && files.get(key) === held) files.delete(key)
    },
  }
}

/**
 * The entry for `key` while it still describes a file on disk. An inode key whose file was deleted
 * (by a cleanup, or a test's temporary directory) while a connection of this process still held it
 * is stale: the inode number may since name another file, which must not be refused for it.
 */
function liveEntry(key: string): OpenFileEntry | undefined {
  const entry = registry().get(key)
  if (!entry || !key.startsWith('inode:')) return entry
  const now = fileIdentity(entry.path)
  return now !== undefined && `inode:${fileKey(now)}` === key ? entry : undefined
}

/** The entry for `key`, if this process holds that file (for health reports and tests). */
export function openFileEntry(key: string): Readonly<OpenFileEntry> | undefined {
  return registry().get(key)
}

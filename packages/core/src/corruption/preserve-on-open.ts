import { createHash } from 'node:crypto'
import { copyFileSync, constants as fsConstants, readFileSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { Corrupt, KanbanDbError } from '../errors/errors.js'
import { primaryCode, sqliteCodeOf } from '../errors/sqlite-codes.js'
import { fileIdentity } from '../hygiene/file-identity.js'
import { applyFileMode, fileModeOf } from '../hygiene/file-mode.js'
import { checkFilesystem } from '../hygiene/filesystem-check.js'
import { assertSameSqliteCopy, fileRegistryKey, isFileHeld, pendingRegistryKey } from '../hygiene/open-file-registry.js'
import { classifyFailure } from './failure-kind.js'

/** What `openBoard` repaired on its way in: index-only damage rebuilt with `REINDEX`. */
export interface OpenRepair {
  readonly kind: 'reindex'
  /** The indexes rebuilt. */
  readonly indexes: readonly string[]
  /** What `integrity_check` said before the repair. */
  readonly problems: readonly string[]
  /** What `integrity_check` said after it: always `['ok']` (otherwise the open raised `Corrupt`). */
  readonly recheck: readonly string[]
}

/** What {@link inspectBeforeInit} takes. */
export interface InspectOptions {
  /** The open policy's `allowUnsupportedFilesystem`. Default false. */
  readonly allowUnsupportedFilesystem?: boolean
}

/** What {@link inspectBeforeInit} found. */
export type InitInspection =
  /** Not the init path (or nothing to look at): no integrity check ran. */
  | { readonly checked: false }
  /** `integrity_check` ran and answered `ok`. */
  | { readonly checked: true; readonly ok: true }
  /** `integrity_check` found problems; `indexes` is set when every one of them is about an index. */
  | { readonly checked: true; readonly ok: false; readonly problems: readonly string[]; readonly indexes: readonly string[] | undefined }

/**
 * Before the open policy writes anything (the switch to WAL, a migration), looks at an existing
 * board file that is about to take the init path — not yet in WAL on a WAL adapter, or at a schema
 * version other than `latestVersion` — and runs `PRAGMA integrity_check` (O(N log N), so only there)
 * on a fresh READ-ONLY connection through `adapter` (the same SQLite copy, so no lock is dropped; a
 * read-only connection never writes the database file).
 *
 * Lock and busy errors say nothing about the file: they are left for the open itself to report.
 */
export async function inspectBeforeInit(
  adapter: SqliteAdapter,
  path: string,
  latestVersion: number,
  options: InspectOptions = {},
): Promise<InitInspection> {
  const stats = statSync(path, { throwIfNoEntry: false })
  if (stats === undefined || stats.size === 0) return { checked: false }
  // The open policy's first refusals, before this look opens anything: a filesystem WAL cannot be
  // safe on, and a file this process holds through another SQLite copy (opening and closing it
  // through this copy would drop that copy's locks, H1). A file this process already holds through
  // this copy is past its init path: nothing to look at.
  if (adapter.capabilities.sharedFile) checkFilesystem(dirname(path), { allowUnsupported: options.allowUnsupportedFilesystem })
  const identity = fileIdentity(path)
  const keys = [pendingRegistryKey(path), ...(identity ? [fileRegistryKey(identity)] : [])]
  assertSameSqliteCopy(keys, adapter.identity, path)
  if (isFileHeld(keys)) return { checked: false }
  let connection: SqliteConnection
  try {
    connection = await adapter.open(path, { readonly: true, create: false })
  } catch {
    return { checked: false } // the open policy meets the same error and names it
  }
  try {
    const journalMode = String(firstValue(connection, 'PRAGMA journal_mode')).toLowerCase()
    const version = Number(firstValue(connection, 'PRAGMA user_version'))
    const initPath = (adapter.capabilities.wal && journalMode !== 'wal') || version !== latestVersion
    if (!initPath) return { checked: false }
    const problems = connection.prepare('PRAGMA integrity_check').all([]).map((row) => String(Object.values(row)[0]))
    if (problems.length === 1 && problems[0] === 'ok') return { checked: true, ok: true }
    return { checked: true, ok: false, problems, indexes: damagedIndexesOnly(connection, problems) }
  } catch (error) {
    const named = classifySqliteError(error, `checking the integrity of ${path}`)
    if (isCorrupt(named)) {
      const message = named instanceof Error ? named.message : String(named)
      return { checked: true, ok: false, problems: [message], indexes: undefined }
    }
    return { checked: false } // busy, locked, I/O: never corruption; the open reports it
  } finally {
    connection.close()
  }
}

/**
 * The indexes `integrity_check`'s `problems` are about, when every line is about an index: "row N
 * missing from index X", "wrong # of entries in index X", "non-unique entry in index X", "NULL value
 * in index X", or a b-tree line ("Tree R page P ...") whose root page R belongs to an index.
 * `undefined` when any line is about something else (a table, the freelist, a page nobody owns).
 */
export function damagedIndexesOnly(connection: SqliteConnection, problems: readonly string[]): readonly string[] | undefined {
  const indexes = connection
    .prepare("SELECT name, rootpage FROM sqlite_schema WHERE type = 'index' AND rootpage > 0")
    .all([])
    .map((row) => ({ name: String(row.name), rootpage: Number(row.rootpage) }))
  const byName = new Set(indexes.map((index) => index.name))
  const byRoot = new Map(indexes.map((index) => [index.rootpage, index.name]))
  const damaged = new Set<string>()
  for (const line of problems) {
    if (/^\*\*\* in database \w+ \*\*\*$/.test(line.trim())) continue
    const named = /\bindex (\S+)\s*$/.exec(line.trim())
    if (named && byName.has(named[1]!)) {
      damaged.add(named[1]!)
      continue
    }
    const tree = /^Tree (\d+) page \d+/.exec(line.trim())
    const owner = tree ? byRoot.get(Number(tree[1])) : undefined
    if (owner === undefined) return undefined
    damaged.add(owner)
  }
  return damaged.size > 0 ? [...damaged].sort() : undefined
}

/**
 * Rebuilds `indexes` with `REINDEX` on `connection` (an open, writable board connection), checks the
 * whole file again with `integrity_check`, and returns what it did. Raises `Corrupt` when the check
 * still finds problems, and the named error of anything else that fails.
 */
export function reindexDamagedIndexes(connection: SqliteConnection, path: string, indexes: readonly string[], problems: readonly string[]): OpenRepair {
  let recheck: string[]
  try {
    for (const index of indexes) connection.exec(`REINDEX "${index.replaceAll('"', '""')}"`)
    recheck = connection.prepare('PRAGMA integrity_check').all([]).map((row) => String(Object.values(row)[0]))
  } catch (error) {
    throw classifySqliteError(error, `rebuilding the damaged indexes ${indexes.join(', ')} of ${path}`)
  }
  if (recheck.length !== 1 || recheck[0] !== 'ok') {
    throw new Corrupt(
      `The board ${path} had damaged indexes (${indexes.join(', ')}); REINDEX rebuilt them, but integrity_check still finds ` +
        `problems: ${recheck.slice(0, 5).join('; ')}. Restore the board from a backup.`,
      { details: { path, indexes, problems, recheck } },
    )
  }
  return { kind: 'reindex', indexes, problems, recheck }
}

/** True when `error` is damage to the file (`Corrupt`, `SQLITE_CORRUPT*`), never a lock or busy error. */
export function isCorrupt(error: unknown): boolean {
  if (classifyFailure(error) !== 'corruption') return false
  if (KanbanDbError.isKanbanDbError(error)) return error.code === 'CORRUPT'
  // Through the adapters' decoders: node:sqlite's own errors carry `errcode` and a `code` of
  // ERR_SQLITE_ERROR, not SQLite's name.
  const code = sqliteCodeOf(error)
  return code !== undefined && primaryCode(code) === 'SQLITE_CORRUPT'
}

/** Where {@link preserveCorruptBoard} put the copy. */
export interface PreservedCopy {
  /** `<path>.corrupt-<first 16 hex digits of the file's sha256>`. */
  readonly copyPath: string
  /** The copy of `<path>-wal` (`<copyPath>-wal`), when there was a non-empty one. */
  readonly walCopyPath: string | undefined
  /** The sha256 of the damaged file's bytes. */
  readonly sha256: string
}

/**
 * Keeps a copy of a damaged board beside it and returns the `Corrupt` error to raise, naming the
 * copy. The original (and its `-wal`) are left untouched. The copy is made only when this process
 * holds no connection to the file: an fs open of a live database in a process that holds a
 * connection to it drops that process's POSIX locks (H2). When it does hold one (another board
 * object on the same file), no copy is made and the message says why.
 */
export function preserveCorruptBoard(path: string, error: unknown, problems: readonly string[]): Corrupt {
  const what = problems.length > 0 ? problems.slice(0, 5).join('; ') : error instanceof Error ? error.message : String(error)
  // The SQLite evidence travels with the error: the driver's error, or else the integrity report.
  const cause = error ?? Object.assign(new Error(`PRAGMA integrity_check reported: ${problems.join('; ')}`), { name: 'IntegrityCheckFailed', problems })
  const sqliteCode = (KanbanDbError.isKanbanDbError(error) ? error.sqliteCode : sqliteCodeOf(error)) ?? 'SQLITE_CORRUPT'
  const identity = fileIdentity(path)
  const keys = [pendingRegistryKey(path), ...(identity ? [fileRegistryKey(identity)] : [])]
  if (identity === undefined || isFileHeld(keys)) {
    return new Corrupt(
      `The board ${path} is damaged (${what}). No copy was kept: this process still has another connection to it, and copying a ` +
        'file this process has open would drop its locks. Close every board on this file in this process, open it again to keep a ' +
        'copy, then restore the board from a backup.',
      { cause, sqliteCode, details: { path, problems, copyPath: undefined } },
    )
  }
  let copy: PreservedCopy
  try {
    copy = copyDamagedFile(path)
  } catch (copyError) {
    return new Corrupt(
      `The board ${path} is damaged (${what}), and keeping a copy of it failed (${copyError instanceof Error ? copyError.message : String(copyError)}). ` +
        'Copy the file and its -wal aside yourself while nothing has it open, then restore the board from a backup.',
      { cause, sqliteCode, details: { path, problems, copyPath: undefined, copyError } },
    )
  }
  return new Corrupt(
    `The board ${path} is damaged (${what}). It was left untouched, and a copy of the damaged file was kept at ${copy.copyPath}` +
      `${copy.walCopyPath ? ` (with its WAL at ${copy.walCopyPath})` : ''}. Restore the board from a backup (or move the damaged ` +
      'file aside and open a new one); keep the copy to investigate or to salvage rows with the sqlite3 .recover command.',
    { cause, sqliteCode, details: { path, problems, ...copy } },
  )
}

/**
 * Copies `path` (and a non-empty `-wal`) to `<path>.corrupt-<sha256 prefix>`. An existing copy with
 * the same name holds the same bytes, so it is kept as it is.
 */
function copyDamagedFile(path: string): PreservedCopy {
  // --allow-fs: the caller made sure this process holds no connection to the file (no board, no
  // probe: isFileHeld is false and every connection of this open is closed), so reading and copying
  // it cannot drop a POSIX lock this process holds (H2); other processes' locks are not affected.
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex') // --allow-fs: see above
  const copyPath = `${path}.corrupt-${sha256.slice(0, 16)}`
  copyIfMissing(path, copyPath)
  const wal = statSync(`${path}-wal`, { throwIfNoEntry: false })
  let walCopyPath: string | undefined
  if (wal !== undefined && wal.size > 0) {
    walCopyPath = `${copyPath}-wal`
    copyIfMissing(`${path}-wal`, walCopyPath)
  }
  return { copyPath, walCopyPath, sha256 }
}

function copyIfMissing(from: string, to: string): void {
  try {
    copyFileSync(from, to, fsConstants.COPYFILE_EXCL) // --allow-fs: see copyDamagedFile
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error
  }
  // The copy holds the board's data: it gets the board file's permission bits (copyFile already
  // creates it with them; this also fixes a copy an earlier version left with other bits).
  applyFileMode(to, fileModeOf(from))
}

function firstValue(connection: SqliteConnection, query: string): unknown {
  const row = connection.prepare(query).all([])[0]
  return row === undefined ? undefined : Object.values(row)[0]
}

const repairs = new WeakMap<object, OpenRepair>()

/** Remembers what `openBoard` repaired on its way to `board` (see {@link openRepairOf}). */
export function recordOpenRepair(board: object, repair: OpenRepair): void {
  repairs.set(board, repair)
}

/**
 * What `openBoard` repaired when it opened `board` (damaged indexes rebuilt with `REINDEX`), or
 * `undefined` when the open found nothing to repair. Log it: a repaired index means the file was
 * damaged once, by a bug, a bad disk, or a copy of a live file.
 */
export function openRepairOf(board: object): OpenRepair | undefined {
  return repairs.get(board)
}

import { readFileSync, statSync } from 'node:fs'
import type { Capabilities } from '../adapter/capabilities.js'
import { LocksLost } from '../errors/errors.js'

/**
 * Lost-lock detection (hazards H1 and H2 in `docs/sqlite-wal-facts.md`).
 *
 * A process whose connection has run a statement on a WAL board holds two POSIX locks that keep
 * every other process from deleting the `-wal`/`-shm` sidecars under it: a read lock on the
 * database file (SQLite's SHARED lock, bytes 1073741826..1073742335) and a read lock on byte 128 of
 * the `-shm` file (the "DMS" byte). POSIX locks belong to the process, so closing ANY file
 * descriptor on the file drops them all: a second SQLite copy's close in this process (H1) or a
 * plain `fs` open+close of the file (H2). SQLite never takes them back while the connection lives,
 * and the data loss comes later, when some other process closes and unlinks the sidecars.
 *
 * On Linux `/proc/locks` lists every POSIX lock with its pid and `major:minor:inode`, so the loss
 * is visible before any damage. Reading `/proc/locks` is not an open of the database, and the audit
 * only `stat`s the database and `-shm` paths.
 *
 * Cost, measured on this project's machine (2 shared cores, better-sqlite3 13.2, a WAL board, a
 * near-empty lock table; 5 runs of 20,000 calls each): one audit 21-25 us against 0.9-1.1 us for a
 * prepared `SELECT 1`, a ratio of 21-24x (median 22x) a trivial query, and about a tenth of one
 * fsync (~ 300 us). It grows with the size of the host's lock table. It runs per health check and
 * per dispatcher tick, never per query.
 */

/** One POSIX lock this process holds on the database or its `-shm`, as `/proc/locks` shows it. */
export interface HeldLock {
  /** Which file the lock is on. */
  readonly file: 'database' | 'shm'
  /** `READ` (shared) or `WRITE` (exclusive). */
  readonly type: 'READ' | 'WRITE'
  /** First byte of the range. */
  readonly start: number
  /** Last byte of the range (`EOF` ranges are reported as `Infinity`). */
  readonly end: number
}

/** The locks a healthy WAL connection holds; each one missing is named in {@link LockAudit.missing}. */
export type ExpectedLock = 'database-shared' | 'shm-dms'

/** What {@link auditLocks} found. */
export interface LockAudit {
  /**
   * False where the platform offers no way to list a process's locks (everything but Linux, or a
   * Linux without a readable `/proc/locks`). Then `missing` is empty and `reason` says why.
   */
  readonly supported: boolean
  /** Why the audit could not run, when `supported` is false. */
  readonly reason?: string
  /** The process audited. */
  readonly pid: number
  /** The database path audited. */
  readonly path: string
  /** `major:minor:inode` of the database file now at `path` (undefined when it is gone). */
  readonly databaseInode?: string
  /** `major:minor:inode` of the `-shm` file now at `path-shm` (undefined when it is gone). */
  readonly shmInode?: string
  /** Every lock `pid` holds on those two inodes. */
  readonly held: readonly HeldLock[]
  /** The expected locks that are not held. Empty when the connection is protected. */
  readonly missing: readonly ExpectedLock[]
}

/** Options for {@link auditLocks} and {@link assertLocksHeld}. */
export interface LockAuditOptions {
  /** The database path (absolute). */
  readonly path: string
  /** The process whose locks to audit. Default: this process. */
  readonly pid?: number
  /** Where to read the lock table (tests only). Default `/proc/locks`. */
  readonly procLocksPath?: string
  /** The platform (tests only). Default `process.platform`. */
  readonly platform?: NodeJS.Platform
}

/** Whether this platform can audit locks, and if not why. Cheap; call it once. */
export function lockAuditCapability(platform: NodeJS.Platform = process.platform): { supported: boolean; reason?: string } {
  if (platform !== 'linux') {
    return { supported: false, reason: `lost-lock detection needs Linux's /proc/locks; this platform is ${platform}` }
  }
  return { supported: true }
}

/** What {@link auditBoardLocks} needs to know about the connection besides its path. */
export interface BoardLockAuditOptions extends LockAuditOptions {
  /** The journal mode the connection runs in (`HygienicConnection.journalMode`). */
  readonly journalMode: string
  /** The adapter's declared capabilities. */
  readonly capabilities: Pick<Capabilities, 'sharedFile' | 'wal'>
}

/**
 * The audit as `board.health()` and the dispatcher's tick use it: only a WAL connection on a shared
 * file holds the two protective locks between statements, so anything else (sql.js's in-memory
 * image, a board that fell back to `journal_mode=DELETE`) is reported as not applicable with the
 * reason, never as lost locks. Call it on a connection that has run at least one statement
 * (`openBoard` has). Pair with {@link assertLocksHeld}-style handling: `missing.length > 0` means
 * raise {@link locksLostError} and reopen.
 */
export function auditBoardLocks(options: BoardLockAuditOptions): LockAudit {
  const pid = options.pid ?? process.pid
  if (!options.capabilities.sharedFile || !options.capabilities.wal) {
    return { supported: false, reason: 'the adapter keeps no shared file with WAL locks, so there are no locks to lose', pid, path: options.path, held: [], missing: [] }
  }
  if (options.journalMode.toLowerCase() !== 'wal') {
    return { supported: false, reason: `the board runs in journal_mode=${options.journalMode}, where a connection holds no locks between transactions`, pid, path: options.path, held: [], missing: [] }
  }
  return auditLocks(options)
}

/** SQLite's SHARED lock range on the database file (os_unix.c: PENDING_BYTE + 2, 510 bytes). */
const SHARED_FIRST = 0x40000000 + 2
/** The `-shm` byte every connection holds a read lock on while it is connected (the DMS byte). */
const SHM_DMS_BYTE = 128

/**
 * Lists the POSIX locks `pid` (default: this process) holds on the database at `path` and on its
 * `-shm`, and which of the two protective locks are missing. Call it only while a connection of this
 * process has run at least one statement on the board (a connection that never ran one holds
 * nothing yet). Never throws for a lost lock; see {@link assertLocksHeld}.
 */
export function auditLocks(options: LockAuditOptions): LockAudit {
  const pid = options.pid ?? process.pid
  const path = options.path
  const capability = lockAuditCapability(options.platform)
  if (!capability.supported) return { supported: false, reason: capability.reason, pid, path, held: [], missing: [] }

  let table: string
  try {
    table = readFileSync(options.procLocksPath ?? '/proc/locks', 'utf8') // --allow-fs: the kernel's lock table, not the database
  } catch (error) {
    const reason = `lost-lock detection could not read ${options.procLocksPath ?? '/proc/locks'}: ${(error as Error).message}`
    return { supported: false, reason, pid, path, held: [], missing: [] }
  }
  const databaseInode = inodeKey(statOrUndefined(path))
  const shmInode = inodeKey(statOrUndefined(`${path}-shm`))
  const held: HeldLock[] = []
  for (const lock of parseProcLocks(table)) {
    if (lock.pid !== pid) continue
    if (databaseInode !== undefined && lock.inode === databaseInode) held.push({ file: 'database', ...lock.range })
    else if (shmInode !== undefined && lock.inode === shmInode) held.push({ file: 'shm', ...lock.range })
  }
  const missing: ExpectedLock[] = []
  if (!held.some((lock) => lock.file === 'database' && covers(lock, SHARED_FIRST))) missing.push('database-shared')
  if (!held.some((lock) => lock.file === 'shm' && covers(lock, SHM_DMS_BYTE))) missing.push('shm-dms')
  return { supported: true, pid, path, databaseInode, shmInode, held, missing }
}

/**
 * Raises {@link LocksLost} when this process's protective locks on the board are gone (H1 or H2
 * happened in this process), and returns the audit otherwise. Where the platform cannot audit, it
 * returns the unsupported audit and raises nothing. The remedy is always the same: close every
 * connection to the file in this process, then open again, which takes the locks afresh.
 */
export function assertLocksHeld(options: LockAuditOptions): LockAudit {
  const audit = auditLocks(options)
  if (audit.supported && audit.missing.length > 0) throw locksLostError(audit)
  return audit
}

/** The `LocksLost` error for an audit with missing locks. */
export function locksLostError(audit: LockAudit): LocksLost {
  const what = audit.missing
    .map((lock) => (lock === 'database-shared' ? 'its shared lock on the database file' : 'its read lock on byte 128 of the -shm file'))
    .join(' and ')
  return new LocksLost(
    `Process ${audit.pid} has lost ${what} of ${audit.path} while its connection is open. ` +
      'Something in this process closed a file descriptor on the board: a second SQLite copy opened and closed the same file ' +
      '(hazard H1: for example node:sqlite beside better-sqlite3), or code opened and closed the file with fs ' +
      '(hazard H2: a file copy "backup", fs.readFileSync, a header peek). The next close by another process can delete the ' +
      '-wal/-shm files and lose commits. Close every connection to this file in this process now, then open the board again ' +
      '(that takes the locks afresh); use one adapter per file per process and back up with board.backupTo.',
    { details: { path: audit.path, pid: audit.pid, missing: audit.missing, held: audit.held, databaseInode: audit.databaseInode, shmInode: audit.shmInode } },
  )
}

/** One row of `/proc/locks` that matters here. */
export interface ProcLock {
  readonly pid: number
  /** `major:minor:inode`, major and minor in hex as the kernel prints them. */
  readonly inode: string
  readonly range: { readonly type: 'READ' | 'WRITE'; readonly start: number; readonly end: number }
}

/**
 * Parses the kernel's lock table: `1: POSIX  ADVISORY  READ 9935 fe:00:2147046 128 128`. Keeps
 * granted POSIX locks only (waiters, shown as `1: -> ...`, and flock/OFD locks are skipped).
 */
export function parseProcLocks(table: string): ProcLock[] {
  const locks: ProcLock[] = []
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 8 || fields[1] !== 'POSIX') continue
    const [, , , type, pid, inode, start, end] = fields as [string, string, string, string, string, string, string, string]
    if (type !== 'READ' && type !== 'WRITE') continue
    locks.push({
      pid: Number(pid),
      inode: normaliseInode(inode),
      range: { type, start: Number(start), end: end === 'EOF' ? Infinity : Number(end) },
    })
  }
  return locks
}

/** `major:minor:inode` as `/proc/locks` prints it (hex major/minor, decimal inode). */
export function inodeKey(stats: { readonly dev: number | bigint; readonly ino: number | bigint } | undefined): string | undefined {
  if (stats === undefined) return undefined
  const dev = BigInt(stats.dev)
  // glibc's dev_t encoding (gnu_dev_major / gnu_dev_minor).
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn)
  return `${major.toString(16)}:${minor.toString(16)}:${stats.ino}`
}

function normaliseInode(text: string): string {
  const [major = '', minor = '', inode = ''] = text.split(':')
  return `${parseInt(major, 16).toString(16)}:${parseInt(minor, 16).toString(16)}:${inode}`
}

function covers(lock: HeldLock, byte: number): boolean {
  return lock.start <= byte && byte <= lock.end
}

function statOrUndefined(path: string): { dev: bigint; ino: bigint } | undefined {
  try {
    return statSync(path, { bigint: true })
  } catch {
    return undefined
  }
}

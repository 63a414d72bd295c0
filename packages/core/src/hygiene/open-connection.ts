import { dirname } from 'node:path'
import type { ProcessLock, SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { BoardClosed, BoardInUse, BoardNotFound, GhostFile } from '../errors/errors.js'
import { registerErrorDecoder } from '../errors/sqlite-codes.js'
import { databaseSize, runCheckpoint, walBytes, type CheckpointMode, type CheckpointResult } from './connection-health.js'
import { fileIdentity, sameFile, type FileIdentity } from './file-identity.js'
import { fileModeOf } from './file-mode.js'
import { checkFilesystem, type FilesystemCheck } from './filesystem-check.js'
import type { HygienePolicy } from './hygiene-policy.js'
import { establishJournalMode } from './journal-mode.js'
import { assertLocksHeld, auditLocks } from './lock-audit.js'
import { backupDatabase } from './online-backup.js'
import { assertSameSqliteCopy, claimOpenFile, fileRegistryKey, isFileHeld, pendingRegistryKey, type OpenFileClaim } from './open-file-registry.js'
import { applyPragmas, busyTimeoutSetting, pragmaSettings, runReadTransaction, verifyPragmas } from './pragma-policy.js'
import { realBoardPath } from './real-path.js'
import { auditSidecars } from './sidecar-audit.js'

/** Options for {@link openHygienicConnection}. */
export interface HygienicOpenOptions {
  readonly policy: HygienePolicy
  /** Open read-only: never create, initialise or change the journal mode. */
  readonly readonly?: boolean
  /**
   * Brings the schema up to date. Called on a fresh or outdated file only, under the cross-process
   * init lock, after the journal mode and pragmas are in place; must be idempotent.
   */
  readonly initialise?: (connection: SqliteConnection) => void
  /** True when `initialise` has nothing to do (checked first without the lock, then again under it). */
  readonly isInitialised?: (connection: SqliteConnection) => boolean
  /**
   * Throws (a named error, for example `ForeignDatabase`) when the file is not one `initialise` may
   * write to. Called on a writable first open before the init lock is taken and again under it,
   * before the journal mode is touched: a refused open leaves every byte of the file and its journal
   * mode as they were. Reads only. (A read-only open writes nothing and is not asked.)
   */
  readonly recognise?: (connection: SqliteConnection) => void
}

/** A policy step that did not apply to this adapter or file, and why. */
export interface SkippedStep {
  /** `init-lock`, `journal-mode`, `sidecar-audit` (with the filesystem check and lock audit), `ghost-check` or `online-backup`. */
  readonly step: string
  readonly reason: string
}

/** A connection that passed the open policy, with what the policy found. */
export interface HygienicConnection {
  readonly connection: SqliteConnection
  /** The journal mode in force after the policy (`wal` on adapters that declare WAL). */
  readonly journalMode: string
  /** Steps of the policy that were skipped for this adapter or file, each with its reason. */
  readonly skipped: readonly SkippedStep[]
  /** True when this open took the init lock (a first open: fresh, not yet WAL, or outdated schema). */
  readonly tookInitLock: boolean
  /**
   * Throws `GhostFile` when the file at the path is no longer the one this connection opened
   * (deleted, moved or replaced under it), or when its `-wal`/`-shm` are no longer the files it
   * opened (unlinked under it: `health().deletedSidecarFds` then counts the descriptors left);
   * throws `LocksLost` when this process's protective POSIX locks on a WAL board are gone (H1/H2
   * happened here, before any other process could close and unlink).
   * Cheap (four stats and one read of `/proc/locks`: 0.2-0.6 ms measured here under load): run it every tick.
   */
  checkGhost(): void
  /** Facts about the connection's file for `board.health()`. */
  health(): HygieneHealth
  /** Runs `PRAGMA wal_checkpoint(mode)` (default PASSIVE); `health()` reports the last result. */
  checkpoint(mode?: CheckpointMode): CheckpointResult
  /**
   * Copies the live database to `destinationPath` (which must not exist) through the driver's online
   * backup, then checks the copy with `integrity_check`. `NotSupported` on sql.js.
   */
  backupTo(destinationPath: string): Promise<void>
  /** Closes the connection and releases what the policy registered for it. Twice is a no-op. */
  close(): void
}

/**
 * What the hygiene layer reports about an open board. Long-lived read transactions and iterators
 * that were not run to the end pin the WAL: `walBytes` then grows and checkpoints report `busy`.
 * kanban-db holds no such "pinner" itself.
 */
export interface HygieneHealth {
  /** `PRAGMA journal_mode` as SQLite reads it now. */
  readonly journalMode: string
  /** The adapter and the SQLite copy this connection runs on. */
  readonly adapter: string
  readonly sqliteVersion: string
  /** `PRAGMA page_size`. */
  readonly pageSize: number
  /** `PRAGMA page_count`. */
  readonly pageCount: number
  /** `page_count` x `page_size`, read through SQLite. */
  readonly databaseBytes: number
  /** Size of `<db>-wal` by stat; 0 when there is none. */
  readonly walBytes: number
  /** The last `checkpoint()` this connection ran, if any (wal_autocheckpoint runs are not seen). */
  readonly lastCheckpoint: CheckpointResult | undefined
  /** Whether the path still names the file this connection opened. */
  readonly file: 'same' | 'missing' | 'replaced'
  /** This process's descriptors on `<db>-wal (deleted)`/`<db>-shm (deleted)`; undefined where not audited. */
  readonly deletedSidecarFds: number | undefined
  /** This process's open descriptors (all files); undefined without `/proc`. */
  readonly openFds: number | undefined
  /**
   * The protective POSIX locks this process should hold on a WAL board and does not (`/proc/locks`):
   * empty when healthy; anything else means H1 or H2 happened here. Undefined where not audited.
   */
  readonly locksMissing: readonly string[] | undefined
  /** The filesystem the board lives on (`ext2/ext3/ext4`, `tmpfs`, ...); undefined where not checked. */
  readonly filesystem: string | undefined
  /** Steps the policy skipped for this adapter or file, with reasons. */
  readonly skipped: readonly SkippedStep[]
}

/**
 * Opens `path` through `adapter` and applies the hygiene policy in order:
 * 1. refuse, before touching the file, a filesystem WAL cannot be safe on (`UnsupportedFilesystem`)
 *    and a file this process already holds through a different SQLite copy (`MixedSqliteCopies`);
 * 2. only for a first open (file missing or empty, not yet WAL, or `isInitialised` false) take the
 *    cross-process init lock, and look again under it;
 * 3. probe `PRAGMA journal_mode` and set WAL only when it is not `wal`;
 * 4. fall back to DELETE only on a filesystem-property error on a file SQLite says is not WAL;
 *    an I/O error is `TransientIO`, never a downgrade;
 * 5. set each pragma and read it back, then again after one transaction; then `initialise`.
 * Every SQLite error comes out as a named kanban-db error, and nothing is left open or registered
 * when it throws.
 *
 * `path` is resolved once to the file's real path ({@link realBoardPath}: links and `..` by the
 * operating system's rules); the connection, every sidecar and lock file, and every stat use it.
 */
export async function openHygienicConnection(
  adapter: SqliteAdapter,
  givenPath: string,
  options: HygienicOpenOptions,
): Promise<HygienicConnection> {
  const { policy } = options
  const readonly = options.readonly ?? false
  const path = realBoardPath(givenPath)
  const onDisk = path !== ':memory:' && path !== ''
  const skipped = skippedFor(adapter, onDisk)

  // 1. Refuse what cannot be safe before touching the file: a filesystem without coherent shared
  // memory and POSIX locks, and a second SQLite copy (not even an open that never reads).
  const filesystem =
    onDisk && adapter.capabilities.sharedFile
      ? checkFilesystem(dirname(path), { allowUnsupported: policy.allowUnsupportedFilesystem })
      : undefined
  const before = onDisk ? fileIdentity(path) : undefined
  if (onDisk && readonly && before === undefined) {
    throw new BoardNotFound(`No board at ${path}. A read-only open never creates one: open it writable once first.`, { details: { path } })
  }
  const registryKeys = onDisk ? [pendingRegistryKey(path), ...(before ? [fileRegistryKey(before)] : [])] : []
  if (onDisk) assertSameSqliteCopy(registryKeys, adapter.identity, path)
  if (onDisk && !adapter.capabilities.sharedFile && isFileHeld(registryKeys)) {
    throw new BoardInUse(
      `Refusing a second open of ${path} through ${adapter.identity.name}: it keeps a private in-memory image of the file, ` +
        'and the second board would write its image back over the first one\'s acknowledged writes. ' +
        'Close the first board before opening it again, or share one board object, or use an adapter with a shared file (better-sqlite3, node:sqlite).',
      { details: { path, adapter: adapter.identity.name } },
    )
  }
  const pending = onDisk && before === undefined ? claimOpenFile(pendingRegistryKey(path), adapter.identity, path) : undefined

  registerErrorDecoder(adapter.identity.name, adapter.decodeError?.bind(adapter))
  let connection: SqliteConnection
  try {
    connection = await adapter.open(path, { readonly })
  } catch (error) {
    pending?.release()
    throw classifySqliteError(error, `opening ${path}`)
  }
  const openedAs = onDisk ? fileIdentity(path) : undefined
  let claim: OpenFileClaim | undefined = pending
  let lock: ProcessLock | undefined
  try {
    if (openedAs) {
      claim = claimOpenFile(fileRegistryKey(openedAs), adapter.identity, path)
      pending?.release()
    }
    // node:sqlite's driver timeout is 0: the probe and the switch to WAL can meet another process's lock.
    applyPragmas(adapter, connection, [busyTimeoutSetting(policy)])

    // 2. The init lock, only for a first open; a file initialise must not write to is refused before
    // it (and again under it), so a refused open leaves the file and its journal mode as they were.
    const walCapable = adapter.capabilities.wal && onDisk
    if (!readonly && onDisk && isFirstOpen(adapter, connection, before, walCapable, options)) {
      options.recognise?.(connection)
      lock = await adapter.acquireLock(`${path}.init-lock`, { timeoutMs: policy.initLockTimeoutMs, mode: fileModeOf(path) })
      options.recognise?.(connection)
    }

    // 3 and 4. The journal mode (looked at again under the lock: another process may have done it).
    let journalMode: string
    if (walCapable && !readonly) {
      const outcome = await establishJournalMode(adapter, connection, path, policy.allowDeleteFallback)
      journalMode = outcome.journalMode
      if (outcome.fallbackReason) skipped.push({ step: 'journal-mode', reason: outcome.fallbackReason })
    } else {
      journalMode = adapter.probeJournalMode(connection)
    }

    // 5. Pragmas, verified now and after a transaction; then the schema.
    const settings = pragmaSettings(policy)
    applyPragmas(adapter, connection, settings)
    if (!readonly && options.initialise && !(options.isInitialised?.(connection) ?? false)) {
      options.initialise(connection)
    }
    runReadTransaction(connection)
    verifyPragmas(connection, settings, 'after the first transaction')
    const tookInitLock = lock !== undefined
    lock?.release()
    lock = undefined
    return hygienicConnection(adapter, connection, path, journalMode, skipped, openedAs, claim, onDisk, tookInitLock, filesystem)
  } catch (error) {
    try {
      connection.close()
    } finally {
      lock?.release()
      claim?.release()
      pending?.release()
    }
    throw classifySqliteError(error, `opening ${path}`)
  }
}

function skippedFor(adapter: SqliteAdapter, onDisk: boolean): SkippedStep[] {
  const { name } = adapter.identity
  const skipped: SkippedStep[] = []
  if (!onDisk) skipped.push({ step: 'ghost-check', reason: 'an in-memory database has no file' })
  if (!adapter.capabilities.wal) {
    skipped.push({ step: 'journal-mode', reason: `${name} declares no WAL (its database is an in-memory image), so the WAL probe and switch do not apply` })
  }
  if (!adapter.capabilities.crossProcessLock) {
    skipped.push({ step: 'init-lock', reason: `${name} declares no cross-process lock: the init lock excludes other opens in this process only` })
  }
  if (!adapter.capabilities.sharedFile) {
    skipped.push({ step: 'sidecar-audit', reason: `${name} declares no shared file: it keeps no descriptors or locks on the database, so the filesystem check and the sidecar and lock audits do not apply` })
  }
  if (!adapter.capabilities.onlineBackup) {
    skipped.push({ step: 'online-backup', reason: `${name} declares no online backup: backupTo raises NotSupported` })
  }
  return skipped
}

function isFirstOpen(
  adapter: SqliteAdapter,
  connection: SqliteConnection,
  before: FileIdentity | undefined,
  walCapable: boolean,
  options: HygienicOpenOptions,
): boolean {
  if (before === undefined || before.size === 0n) return true
  if (walCapable) {
    let probed: string | undefined
    try {
      probed = adapter.probeJournalMode(connection)
    } catch {
      return true // the journal-mode step looks again under the lock and decides what the error means
    }
    if (probed !== 'wal') return true
  }
  return options.initialise !== undefined && !(options.isInitialised?.(connection) ?? false)
}

function hygienicConnection(
  adapter: SqliteAdapter,
  connection: SqliteConnection,
  path: string,
  journalMode: string,
  skipped: readonly SkippedStep[],
  openedAs: FileIdentity | undefined,
  claim: OpenFileClaim | undefined,
  onDisk: boolean,
  tookInitLock: boolean,
  filesystem: FilesystemCheck | undefined,
): HygienicConnection {
  // `path` is the real path (resolved once at open): sidecars, stats and audits all derive from it.
  const realPath = path
  const audited = onDisk && adapter.capabilities.sharedFile
  // A WAL connection holds a shared lock on the database and a read lock on -shm byte 128 while it
  // lives; in DELETE mode (the fallback) it holds none between transactions, so there is nothing to audit.
  const locksAudited = audited && journalMode === 'wal'
  // SQLite never deletes or recreates -wal/-shm while a connection holds the board in WAL (that
  // needs an EXCLUSIVE lock), so a sidecar whose inode changed since the open was unlinked under us.
  const sidecarsAtOpen = locksAudited
    ? (['-wal', '-shm'] as const).flatMap((suffix) => {
        const identity = fileIdentity(`${path}${suffix}`)
        return identity ? [{ suffix, identity }] : []
      })
    : []
  let lastCheckpoint: CheckpointResult | undefined
  let closed = false
  const ensureOpen = (doing: string) => {
    if (closed) throw new BoardClosed(`The connection to ${path} is closed; ${doing} needs an open one. Open the board again.`, { details: { path } })
  }
  const fileState = (): HygieneHealth['file'] => {
    if (!onDisk || openedAs === undefined) return 'same'
    const now = fileIdentity(path)
    if (now === undefined) return 'missing'
    return sameFile(now, openedAs) ? 'same' : 'replaced'
  }
  return {
    connection,
    journalMode,
    skipped,
    tookInitLock,
    checkGhost() {
      ensureOpen('checkGhost')
      const file = fileState()
      if (file !== 'same') {
        throw new GhostFile(
          file === 'missing'
            ? `The board file ${path} was deleted or moved while this connection had it open; its writes now go to a file nobody else can see. Close this board and open the real file.`
            : `The board file ${path} was replaced (a different file now has that name) while this connection had the old one open; its writes go to the old file. Close this board and open it again.`,
          { details: { path, file, device: openedAs?.device, inode: openedAs?.inode } },
        )
      }
      const unlinked = sidecarsAtOpen.filter(({ suffix, identity }) => {
        const now = fileIdentity(`${path}${suffix}`)
        return now === undefined || !sameFile(now, identity)
      })
      if (unlinked.length > 0) {
        const names = unlinked.map(({ suffix }) => `${path}${suffix}`).join(' and ')
        throw new GhostFile(
          `${names} was deleted or replaced while this connection uses it ` +
            '(two SQLite copies in one process, an fs copy of the live file, or a cleanup script): its commits are invisible to other processes. ' +
            'Stop writing, close every connection to this board in this process, and reopen it.',
          { details: { path, sidecars: unlinked.map(({ suffix }) => suffix), deletedSidecarFds: auditSidecars(realPath)?.deletedSidecarFds } },
        )
      }
      if (locksAudited) assertLocksHeld({ path: realPath })
    },
    health() {
      ensureOpen('health')
      const audit = audited ? auditSidecars(realPath) : undefined
      return {
        journalMode: adapter.probeJournalMode(connection),
        adapter: adapter.identity.name,
        sqliteVersion: adapter.identity.sqliteVersion,
        ...databaseSize(connection),
        walBytes: onDisk && adapter.capabilities.wal ? walBytes(path) : 0,
        lastCheckpoint,
        file: fileState(),
        deletedSidecarFds: audit?.deletedSidecarFds,
        openFds: audit?.openFds,
        locksMissing: locksAudited ? auditLocks({ path: realPath }).missing : undefined,
        filesystem: filesystem?.name,
        skipped,
      }
    },
    checkpoint(mode = 'PASSIVE') {
      ensureOpen('checkpoint')
      try {
        lastCheckpoint = runCheckpoint(connection, mode)
      } catch (error) {
        throw classifySqliteError(error, `checkpointing ${path}`)
      }
      return lastCheckpoint
    },
    async backupTo(destinationPath) {
      ensureOpen('backupTo')
      await backupDatabase(adapter, connection, destinationPath)
    },
    close() {
      if (closed) return
      closed = true
      try {
        connection.close()
      } finally {
        claim?.release()
      }
    },
  }
}

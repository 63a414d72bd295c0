import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { PragmaMismatch } from '../errors/errors.js'
import type { HygienePolicy } from './hygiene-policy.js'

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
  /** True when `initialise` has nothing to do (checked first, without the lock). */
  readonly isInitialised?: (connection: SqliteConnection) => boolean
}

/** A connection that passed the open policy, with what the policy found. */
export interface HygienicConnection {
  readonly connection: SqliteConnection
  /** The journal mode in force after the policy (`wal` on adapters that declare WAL). */
  readonly journalMode: string
  /**
   * Throws `GhostFile` when the file at the path is no longer the one this connection opened
   * (deleted, moved or replaced under it). Cheap: one stat. The dispatcher runs it every tick.
   */
  checkGhost(): void
  /** Facts about the connection's file for `board.health()`. */
  health(): HygieneHealth
  /** Copies the live database to `destinationPath` through the driver's online backup. */
  backupTo(destinationPath: string): Promise<void>
  /** Closes the connection and releases what the policy registered for it. */
  close(): void
}

/** What the hygiene layer reports about an open board. */
export interface HygieneHealth {
  /** `PRAGMA journal_mode` as SQLite reads it now. */
  readonly journalMode: string
}

/**
 * Opens `path` through `adapter` and applies the hygiene policy in order: refuse what cannot be safe,
 * take the init lock only for a first open, probe the journal mode and set WAL only when it is not
 * already WAL, set and verify pragmas, initialise the schema. Every SQLite error comes out as a
 * named kanban-db error.
 */
export async function openHygienicConnection(
  adapter: SqliteAdapter,
  path: string,
  options: HygienicOpenOptions,
): Promise<HygienicConnection> {
  const connection = await adapter.open(path, { readonly: options.readonly ?? false })
  try {
    let journalMode = adapter.probeJournalMode(connection)
    if (!options.readonly && adapter.capabilities.wal && journalMode !== 'wal') {
      journalMode = adapter.setPragma(connection, 'journal_mode', 'WAL').toLowerCase()
    }
    applyPragmas(adapter, connection, options.policy)
    if (!options.readonly && options.initialise && !(options.isInitialised?.(connection) ?? false)) {
      const lock = await adapter.acquireLock(`${path}.init-lock`, { timeoutMs: options.policy.initLockTimeoutMs })
      try {
        options.initialise(connection)
      } finally {
        lock.release()
      }
    }
    return {
      connection,
      journalMode,
      checkGhost: () => {},
      health: () => ({ journalMode: adapter.probeJournalMode(connection) }),
      backupTo: (destinationPath) => connection.backup(destinationPath),
      close: () => connection.close(),
    }
  } catch (error) {
    connection.close()
    throw classifySqliteError(error, `opening ${path}`)
  }
}

function applyPragmas(adapter: SqliteAdapter, connection: SqliteConnection, policy: HygienePolicy): void {
  const wanted: Array<[string, string | number, string]> = [
    ['busy_timeout', policy.busyTimeoutMs, String(policy.busyTimeoutMs)],
    ['synchronous', policy.synchronous, { NORMAL: '1', FULL: '2', EXTRA: '3' }[policy.synchronous]],
    ['foreign_keys', policy.foreignKeys ? 'ON' : 'OFF', policy.foreignKeys ? '1' : '0'],
    ['secure_delete', policy.secureDelete ? 'ON' : 'OFF', policy.secureDelete ? '1' : '0'],
    ['cell_size_check', policy.cellSizeCheck ? 'ON' : 'OFF', policy.cellSizeCheck ? '1' : '0'],
    ['wal_autocheckpoint', policy.walAutocheckpoint, String(policy.walAutocheckpoint)],
  ]
  for (const [name, value, expected] of wanted) {
    const actual = adapter.setPragma(connection, name, value)
    if (actual !== expected) {
      throw new PragmaMismatch(
        `PRAGMA ${name} = ${value} read back as ${actual} (expected ${expected}) on ${connection.path}. ` +
          'The driver or a compile-time option overrides it; kanban-db refuses to run with a policy it cannot verify.',
        { details: { pragma: name, expected, actual } },
      )
    }
  }
}

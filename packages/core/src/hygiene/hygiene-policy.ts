import { InvalidInput } from '../errors/errors.js'

/**
 * The connection-hygiene policy: what every open of a board applies, in order. A typed object with
 * documented defaults that a caller may override field by field (`openBoard({ policy: { ... } })`).
 *
 * The order is fixed (see `openHygienicConnection`): refuse a second SQLite copy on the same file,
 * take the init lock only for a first open, probe the journal mode and set WAL only when it is not
 * already WAL (falling back to DELETE only where {@link HygienePolicy.allowDeleteFallback} allows),
 * then set and verify the pragmas below.
 */
export interface HygienePolicy {
  /** `PRAGMA synchronous` after the journal mode. FULL: a commit survives power loss. Default `FULL`. */
  readonly synchronous: 'FULL' | 'NORMAL' | 'EXTRA'
  /** `PRAGMA secure_delete`: zero freed content. Default true. */
  readonly secureDelete: boolean
  /** `PRAGMA cell_size_check`: check b-tree cells as they are read. Default true. */
  readonly cellSizeCheck: boolean
  /** `PRAGMA foreign_keys`. Default true (the board's schema relies on it). */
  readonly foreignKeys: boolean
  /**
   * `PRAGMA busy_timeout` in ms: how long SQLite waits for another process's lock. Default 5000.
   * Set first of all, before the journal-mode probe, because node:sqlite's driver default is 0.
   */
  readonly busyTimeoutMs: number
  /** `PRAGMA wal_autocheckpoint` in pages. Default 1000. */
  readonly walAutocheckpoint: number
  /** How long a first open waits for another process that is initialising the same board. Default 10000. */
  readonly initLockTimeoutMs: number
  /**
   * Fall back to `journal_mode=DELETE` when WAL cannot work on this filesystem ("locking protocol",
   * "not authorized") and SQLite says the file is not WAL yet. Never applies to a file already in
   * WAL, nor to I/O errors. When false, such a filesystem raises `UnsupportedFilesystem`. Default true.
   */
  readonly allowDeleteFallback: boolean
  /**
   * Open a board on a filesystem kanban-db refuses (NFS, SMB/CIFS, 9p; see `checkFilesystem`) anyway.
   * Only for a mount one host uses with working POSIX locks. Default false.
   */
  readonly allowUnsupportedFilesystem: boolean
}

/** The defaults, as the hygiene issue and `docs/sqlite-wal-facts.md` argue them. */
export const defaultHygienePolicy: HygienePolicy = Object.freeze({
  synchronous: 'FULL',
  secureDelete: true,
  cellSizeCheck: true,
  foreignKeys: true,
  busyTimeoutMs: 5000,
  walAutocheckpoint: 1000,
  initLockTimeoutMs: 10_000,
  allowDeleteFallback: true,
  allowUnsupportedFilesystem: false,
})

/**
 * The policy with `overrides` applied field by field. Fields left `undefined` keep their default.
 * Throws `InvalidInput` for a value SQLite would silently misread (a negative timeout, an unknown
 * synchronous level).
 */
export function resolvePolicy(overrides: Partial<HygienePolicy> = {}): HygienePolicy {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined))
  const policy: HygienePolicy = { ...defaultHygienePolicy, ...defined }
  if (!['FULL', 'NORMAL', 'EXTRA'].includes(policy.synchronous)) {
    throw new InvalidInput(`policy.synchronous must be FULL, NORMAL or EXTRA, not ${String(policy.synchronous)}.`)
  }
  for (const field of ['busyTimeoutMs', 'walAutocheckpoint', 'initLockTimeoutMs'] as const) {
    const value = policy[field]
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidInput(`policy.${field} must be a whole number >= 0, not ${String(value)}.`, { details: { field, value } })
    }
  }
  for (const field of ['secureDelete', 'cellSizeCheck', 'foreignKeys', 'allowDeleteFallback', 'allowUnsupportedFilesystem'] as const) {
    if (typeof policy[field] !== 'boolean') {
      throw new InvalidInput(`policy.${field} must be true or false, not ${String(policy[field])}.`, { details: { field } })
    }
  }
  return Object.freeze(policy)
}

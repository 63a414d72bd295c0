/**
 * The connection-hygiene policy: what every open of a board applies, in order. A typed object with
 * documented defaults that a caller may override field by field (`openBoard({ policy: { ... } })`).
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
  /** `PRAGMA busy_timeout` in ms: how long SQLite waits for another process's lock. Default 5000. */
  readonly busyTimeoutMs: number
  /** `PRAGMA wal_autocheckpoint` in pages. Default 1000. */
  readonly walAutocheckpoint: number
  /** How long a first open waits for another process that is initialising the same board. Default 10000. */
  readonly initLockTimeoutMs: number
}

/** The defaults, as the hygiene issue and `shared/docs/sqlite-wal-facts.md` argue them. */
export const defaultHygienePolicy: HygienePolicy = Object.freeze({
  synchronous: 'FULL',
  secureDelete: true,
  cellSizeCheck: true,
  foreignKeys: true,
  busyTimeoutMs: 5000,
  walAutocheckpoint: 1000,
  initLockTimeoutMs: 10_000,
})

/** The policy with `overrides` applied field by field. */
export function resolvePolicy(overrides: Partial<HygienePolicy> = {}): HygienePolicy {
  return Object.freeze({ ...defaultHygienePolicy, ...overrides })
}

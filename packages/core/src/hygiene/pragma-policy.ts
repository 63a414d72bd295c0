import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { PragmaMismatch } from '../errors/errors.js'
import type { HygienePolicy } from './hygiene-policy.js'
import { readFirstValue } from '../adapter/sql-pragma-hooks.js'

/** One pragma the policy sets: the value written and what `PRAGMA name` must read back. */
export interface PragmaSetting {
  readonly name: string
  readonly value: string | number
  /** What SQLite reads back, as a string (`synchronous` FULL reads back `2`). */
  readonly expected: string
}

const SYNCHRONOUS_LEVEL = { NORMAL: '1', FULL: '2', EXTRA: '3' } as const

/** The busy timeout, set before anything else on the connection (the journal-mode probe can meet locks). */
export function busyTimeoutSetting(policy: HygienePolicy): PragmaSetting {
  return { name: 'busy_timeout', value: policy.busyTimeoutMs, expected: String(policy.busyTimeoutMs) }
}

/** Every pragma of the policy, in the order it sets them (after the journal mode). */
export function pragmaSettings(policy: HygienePolicy): PragmaSetting[] {
  const flag = (on: boolean) => ({ value: on ? 'ON' : 'OFF', expected: on ? '1' : '0' })
  return [
    busyTimeoutSetting(policy),
    { name: 'synchronous', value: policy.synchronous, expected: SYNCHRONOUS_LEVEL[policy.synchronous] },
    { name: 'foreign_keys', ...flag(policy.foreignKeys) },
    { name: 'secure_delete', ...flag(policy.secureDelete) },
    { name: 'cell_size_check', ...flag(policy.cellSizeCheck) },
    { name: 'wal_autocheckpoint', value: policy.walAutocheckpoint, expected: String(policy.walAutocheckpoint) },
  ]
}

/** Sets each pragma and checks what SQLite reads back; a mismatch is a `PragmaMismatch`, never a warning. */
export function applyPragmas(adapter: SqliteAdapter, connection: SqliteConnection, settings: readonly PragmaSetting[]): void {
  for (const setting of settings) {
    const actual = adapter.setPragma(connection, setting.name, setting.value)
    if (actual !== setting.expected) throw mismatch(connection, setting, actual, 'right after setting it')
  }
}

/**
 * Reads each pragma back without setting it. Run after a transaction: better-sqlite3 drops an
 * unset `synchronous` from FULL to NORMAL at the first transaction after the switch to WAL (facts
 * §4), so a check right after the switch alone would pass on a setting that does not hold.
 */
export function verifyPragmas(connection: SqliteConnection, settings: readonly PragmaSetting[], when: string): void {
  for (const setting of settings) {
    const actual = readPragma(connection, setting.name)
    if (actual !== setting.expected) throw mismatch(connection, setting, actual, when)
  }
}

/** `PRAGMA name` as a string (the first column of the first row), without changing it. */
export function readPragma(connection: SqliteConnection, name: string): string {
  return String(readFirstValue(connection, `PRAGMA ${name}`) ?? '')
}

/** Runs one read transaction, so pragmas that change at a connection's first transaction have changed. */
export function runReadTransaction(connection: SqliteConnection): void {
  connection.exec('BEGIN')
  try {
    connection.prepare('SELECT count(*) AS n FROM sqlite_master').all([])
  } catch (error) {
    // SQLite may already have rolled back (an I/O error): the read's error is the one to report.
    if (connection.inTransaction) {
      try {
        connection.exec('ROLLBACK')
      } catch {
        // The original error below says what went wrong.
      }
    }
    throw error
  }
  connection.exec('COMMIT')
}

function mismatch(connection: SqliteConnection, setting: PragmaSetting, actual: string, when: string): PragmaMismatch {
  return new PragmaMismatch(
    `PRAGMA ${setting.name} = ${setting.value} read back as ${actual} (expected ${setting.expected}) ${when} on ${connection.path}. ` +
      'The driver or a compile-time option overrides it; kanban-db refuses to run with a policy it cannot verify.',
    { details: { pragma: setting.name, expected: setting.expected, actual, when } },
  )
}

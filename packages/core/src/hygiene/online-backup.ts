import { closeSync, openSync, unlinkSync } from 'node:fs'
import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { Corrupt, InvalidInput, NotSupported } from '../errors/errors.js'
import { fileIdentity } from './file-identity.js'
import { applyFileMode, fileModeOf } from './file-mode.js'
import { readPragma } from './pragma-policy.js'

/**
 * Copies the live database behind `connection` to `destinationPath` through the driver's online
 * backup API (page by page, through SQLite, so this process's locks stay intact and other
 * processes may keep writing), then opens the copy and checks `PRAGMA integrity_check` is `ok`.
 *
 * Never a file copy: an `fs` open and close of the live database in this process drops its POSIX
 * locks, and an older SQLite closing last elsewhere then unlinks the live sidecars (hazard H2).
 * Refuses an existing destination (it could be someone's live board). sql.js has no shared file
 * and no online backup: `NotSupported`.
 *
 * The copy gets the board file's permission bits: the destination is created empty and private
 * (0600) and given the board's mode before a page is copied into it (SQLite then creates the copy's
 * journal with the same mode), so a 0600 board under umask 022 never has a readable 0644 copy.
 */
export async function backupDatabase(adapter: SqliteAdapter, connection: SqliteConnection, destinationPath: string): Promise<void> {
  if (!adapter.capabilities.onlineBackup) {
    throw new NotSupported(
      `${adapter.identity.name} has no online backup (it declares onlineBackup = false), so ${connection.path} cannot be backed up while open. ` +
        'Close the board and copy the file, or use an adapter with a real file (better-sqlite3, node:sqlite).',
      { details: { adapter: adapter.identity.name } },
    )
  }
  if (fileIdentity(destinationPath) !== undefined) {
    throw new InvalidInput(`The backup destination ${destinationPath} already exists; kanban-db never overwrites a file that could be a live board. Choose a new path.`, {
      details: { destinationPath },
    })
  }
  // A new, empty file, never a database anyone has open: creating it with fs is safe (H2 concerns
  // live databases). 'wx' refuses a file that appeared since the check above.
  try {
    closeSync(openSync(destinationPath, 'wx', 0o600)) // --allow-fs: creates the empty destination
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') {
      throw new InvalidInput(`The backup destination ${destinationPath} already exists; kanban-db never overwrites a file that could be a live board. Choose a new path.`, {
        cause: error,
        details: { destinationPath },
      })
    }
    throw error
  }
  try {
    applyFileMode(destinationPath, fileModeOf(connection.path))
    await connection.backup(destinationPath)
  } catch (error) {
    // Only the empty file this call created (or the partial copy written into it) is removed.
    try {
      unlinkSync(destinationPath) // --allow-fs: our own destination, not a live board
    } catch {
      // already gone
    }
    throw classifySqliteError(error, `backing up ${connection.path} to ${destinationPath}`)
  }
  const copy = await adapter.open(destinationPath, { create: false })
  try {
    const integrity = readPragma(copy, 'integrity_check')
    if (integrity !== 'ok') {
      throw new Corrupt(`The backup ${destinationPath} of ${connection.path} fails integrity_check (${integrity}). The source was not changed; check it with PRAGMA integrity_check.`, {
        details: { destinationPath, integrity },
      })
    }
  } catch (error) {
    throw classifySqliteError(error, `checking the backup ${destinationPath}`)
  } finally {
    copy.close()
  }
}

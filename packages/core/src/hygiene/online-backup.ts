import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { Corrupt, InvalidInput, NotSupported } from '../errors/errors.js'
import { fileIdentity } from './file-identity.js'
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
  try {
    await connection.backup(destinationPath)
  } catch (error) {
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

import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { SqlJsStatic } from 'sql.js'
import type { AdapterIdentity, Capabilities, OpenOptions, SqliteAdapter, SqliteConnection } from '@kanban-db/core/adapter'
import { BoardNotFound } from '@kanban-db/core'
import { acquireInProcessLock, sqlPragmaHooks } from '@kanban-db/core/adapter'
import { SqlJsConnection } from './connection.js'
import { decodeSqlJsError } from './decode-error.js'
import { claimPrivateImage } from './image-claim.js'
import { assertSupportedNode } from './node-version.js'

const require = createRequire(import.meta.url)

/**
 * What sql.js can do: SQLite compiled to WebAssembly over an in-memory image. No shared file, no
 * real locks, WAL is meaningless. A file path is loaded once at open and written back at close.
 */
export const capabilities: Capabilities = {
  sharedFile: false,
  wal: false,
  crossProcessLock: false,
  onlineBackup: false,
  workerThreads: true,
}

/** Creates the sql.js adapter. This is the package's default export. */
export async function createAdapter(): Promise<SqliteAdapter> {
  assertSupportedNode()
  const initSqlJs = require('sql.js') as (config?: object) => Promise<SqlJsStatic>
  const SQL = await initSqlJs()
  const probe = new SQL.Database()
  const sqliteVersion = String(probe.exec('select sqlite_version()')[0]?.values[0]?.[0])
  probe.close()
  // sql.js's exports map hides package.json: find it beside the resolved entry.
  const entry = require.resolve('sql.js')
  const packagePath = join(entry.slice(0, entry.lastIndexOf('/sql.js/') + '/sql.js/'.length), 'package.json')
  const identity: AdapterIdentity = {
    name: 'sql.js',
    moduleName: '@kanban-db/adapter-sql-js',
    driver: 'sql.js',
    driverVersion: (require(packagePath) as { version: string }).version,
    sqliteVersion,
    // A WebAssembly SQLite never takes a POSIX lock, but give each install its own identity anyway.
    sqliteCopy: `sql.js:${packagePath}`,
  }

  const open = async (path: string, options: OpenOptions = {}): Promise<SqliteConnection> => {
    const readonly = options.readonly ?? false
    const exists = path !== ':memory:' && existsSync(path)
    if (!exists && path !== ':memory:' && (readonly || options.create === false)) {
      throw new BoardNotFound(`No database at ${path}. Create it first (open without readonly).`, { details: { path } })
    }
    // A writable image is written back at close: refuse it while another process holds one (its
    // write-back and ours would overwrite each other's acknowledged writes).
    const claim = !readonly && path !== ':memory:' ? claimPrivateImage(path) : undefined
    try {
      // sql.js cannot share a file: it reads the image once, before any connection to it exists in
      // this process (it never uses SQLite's file locks). --allow-fs
      const image = exists ? readFileSync(path) : undefined
      // sql.js's in-memory file system adopts the buffer it is given and writes into it in place:
      // keep a copy of what was loaded to compare the image with at close.
      const loaded = image === undefined ? undefined : Uint8Array.from(image)
      return new SqlJsConnection(path, new SQL.Database(image), readonly, loaded, claim)
    } catch (error) {
      claim?.release()
      throw error
    }
  }

  return {
    identity,
    capabilities,
    open,
    ...sqlPragmaHooks,
    decodeError: decodeSqlJsError,
    acquireLock: (lockPath, lockOptions) => acquireInProcessLock(lockPath, lockOptions),
  }
}

export default createAdapter

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import type { Database, SqlJsStatic, Statement } from 'sql.js'
import type {
  AdapterIdentity, Capabilities, OpenOptions, RunResult, SqliteAdapter, SqliteConnection, SqliteRow,
  SqliteStatement, SqliteValue,
} from '@kanban-db/core/adapter'
import { BoardNotFound, BoardOpenElsewhere } from '@kanban-db/core'
import { acquireInProcessLock, applyFileMode, fileModeOf, realBoardPath, sqlPragmaHooks } from '@kanban-db/core/adapter'
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
    acquireLock: (lockPath, lockOptions) => acquireInProcessLock(lockPath, lockOptions),
  }
}

export default createAdapter

/** One process's hold on a file's private image (see {@link claimPrivateImage}). */
interface ImageClaim {
  release(): void
}

interface HeldImage {
  readonly lockPath: string
  readonly lock: DatabaseSync
  count: number
}

const HELD = Symbol.for('kanban-db.sql-js-private-images')
/** Writable images held by this process, by the board's real path (shared by duplicate copies of this package). */
const heldImages: Map<string, HeldImage> = ((globalThis as Record<symbol, unknown>)[HELD] ??= new Map<string, HeldImage>()) as Map<string, HeldImage>

/**
 * Takes this process's hold on the writable image of `path`: a cross-process lock, an EXCLUSIVE
 * SQLite lock (a POSIX lock the kernel releases when its holder dies) on `<real path>.sqljs-lock`,
 * a small lock database of its own taken through Node's built-in SQLite (sql.js itself has no file
 * locks), never the board file. A second process that wants a writable image of the same file meets
 * the lock and gets {@link BoardOpenElsewhere}; a crashed holder leaves nothing to clean up.
 *
 * Within one process the hold is counted, not exclusive: core's open-file registry refuses a second
 * board on the file in this process (`BoardInUse`), and raw connections stay the caller's business.
 * The lock file gets the board file's mode. Worker threads each have their own count, but share the
 * process's SQLite lock table, so a second thread's writable image is refused like another process's.
 */
function claimPrivateImage(path: string): ImageClaim {
  const realPath = realBoardPath(path)
  let held = heldImages.get(realPath)
  if (held === undefined) {
    const lockPath = `${realPath}.sqljs-lock`
    const { DatabaseSync: Sqlite } = require('node:sqlite') as typeof import('node:sqlite')
    const lock = new Sqlite(lockPath, { timeout: 0 })
    try {
      applyFileMode(lockPath, fileModeOf(realPath))
      lock.exec('BEGIN EXCLUSIVE')
    } catch (error) {
      lock.close()
      if (!isBusy(error)) throw error
      throw new BoardOpenElsewhere(
        `Another process (or another thread of this one) has ${realPath} open through sql.js (it holds ${lockPath}). sql.js keeps a private in-memory image of the ` +
          'file and writes it back at close, so two processes on one file would each overwrite the other\'s acknowledged writes. ' +
          'Close the board in the other process first, or share the board between processes through an adapter with a shared file ' +
          '(@kanban-db/adapter-better-sqlite3 or @kanban-db/adapter-node-sqlite).',
        { cause: error, sqliteCode: 'SQLITE_BUSY', details: { path: realPath, lockPath } },
      )
    }
    held = { lockPath, lock, count: 0 }
    heldImages.set(realPath, held)
  }
  held.count += 1
  const holding = held
  let released = false
  return {
    release() {
      if (released) return
      released = true
      holding.count -= 1
      if (holding.count > 0) return
      heldImages.delete(realPath)
      try {
        holding.lock.exec('ROLLBACK')
      } finally {
        holding.lock.close()
      }
    },
  }
}

function isBusy(error: unknown): boolean {
  const { errcode, code } = (error ?? {}) as { errcode?: unknown; code?: unknown }
  return errcode === 5 || errcode === 6 || code === 'SQLITE_BUSY' || /database is locked/i.test(error instanceof Error ? error.message : '')
}

/**
 * True when two images hold the same database: equal bytes, except the header fields SQLite rewrites
 * on every write transaction without changing content (the change counter at 24..27, version-valid-for
 * at 92..95 and the writer's SQLITE_VERSION_NUMBER at 96..99). sql.js's export of a file another
 * SQLite wrote differs in exactly those even when nothing was written.
 */
function sameDatabase(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let index = 0; index < a.length; index += 1) {
    if (a[index] === b[index]) continue
    if ((index >= 24 && index < 28) || (index >= 92 && index < 100)) continue
    return false
  }
  return true
}

class SqlJsConnection implements SqliteConnection {
  #open = true

  constructor(
    readonly path: string,
    private readonly database: Database,
    private readonly readonly: boolean,
    private readonly loadedImage: Uint8Array | undefined,
    private readonly claim: ImageClaim | undefined,
  ) {}

  get isOpen(): boolean {
    return this.#open
  }

  get inTransaction(): boolean {
    // sql.js exposes no autocommit flag: a nested BEGIN fails exactly when a transaction is open.
    try {
      this.database.exec('BEGIN')
    } catch {
      return true
    }
    this.database.exec('ROLLBACK')
    return false
  }

  prepare(sql: string): SqliteStatement {
    return new SqlJsStatement(this.database, this.database.prepare(sql))
  }

  exec(sql: string): void {
    this.database.exec(sql)
  }

  async backup(): Promise<void> {
    throw new Error('sql.js has no online backup: it declares onlineBackup = false.')
  }

  close(): void {
    if (!this.#open) return
    this.#open = false
    try {
      if (!this.readonly && this.path !== ':memory:') this.persist()
    } finally {
      try {
        this.database.close()
      } finally {
        this.claim?.release()
      }
    }
  }

  /**
   * Writes the image back only when it changed, beside the file first and then renamed into place,
   * so a crash never leaves half a file and a file SQLite could not read (not a database, damaged)
   * is never replaced. sql.js boards are single-process by declaration (sharedFile = false).
   */
  private persist(): void {
    let image: Uint8Array
    try {
      image = this.database.export()
    } catch {
      return // SQLite could not read what was loaded: leave the file exactly as it was.
    }
    if (this.loadedImage && sameDatabase(image, this.loadedImage)) return
    const temporary = `${this.path}.sqljs-${process.pid}.tmp`
    // The renamed file keeps the board's permissions (a 0600 board stays 0600 under umask 022): the
    // copy starts private and gets the board's mode before it takes the board's place.
    const mode = fileModeOf(this.path)
    writeFileSync(temporary, image, mode === undefined ? {} : { mode: 0o600 }) // --allow-fs: sql.js persistence, see above
    applyFileMode(temporary, mode)
    renameSync(temporary, this.path) // --allow-fs
  }
}

class SqlJsStatement implements SqliteStatement {
  readonly reader: boolean

  constructor(
    private readonly database: Database,
    private readonly statement: Statement,
  ) {
    this.reader = statement.getColumnNames().length > 0
  }

  all(parameters: readonly SqliteValue[]): SqliteRow[] {
    const rows: SqliteRow[] = []
    try {
      this.statement.bind(toSqlJs(parameters))
      while (this.statement.step()) rows.push(this.statement.getAsObject() as SqliteRow)
    } finally {
      this.statement.reset()
    }
    return rows
  }

  run(parameters: readonly SqliteValue[]): RunResult {
    try {
      this.statement.run(toSqlJs(parameters))
    } finally {
      this.statement.reset()
    }
    const changes = this.database.getRowsModified()
    const lastInsertRowid = Number(this.database.exec('select last_insert_rowid()')[0]?.values[0]?.[0] ?? 0)
    return { changes, lastInsertRowid }
  }

  finalize(): void {
    this.statement.free()
  }
}

function toSqlJs(parameters: readonly SqliteValue[]): (string | number | Uint8Array | null)[] {
  return parameters.map((value) => (typeof value === 'bigint' ? Number(value) : value))
}

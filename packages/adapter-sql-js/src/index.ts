import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Database, SqlJsStatic, Statement } from 'sql.js'
import type {
  AdapterIdentity, Capabilities, OpenOptions, RunResult, SqliteAdapter, SqliteConnection, SqliteRow,
  SqliteStatement, SqliteValue,
} from '@kanban-db/core'
import { BoardNotFound, acquireInProcessLock, sqlPragmaHooks } from '@kanban-db/core'

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
    // sql.js cannot share a file: it reads the image once, before any connection to it exists in
    // this process (it never uses SQLite's file locks). --allow-fs
    const image = exists ? readFileSync(path) : undefined
    return new SqlJsConnection(path, new SQL.Database(image), readonly, image)
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

class SqlJsConnection implements SqliteConnection {
  #open = true

  constructor(
    readonly path: string,
    private readonly database: Database,
    private readonly readonly: boolean,
    private readonly loadedImage: Uint8Array | undefined,
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
      this.database.close()
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
    if (this.loadedImage && Buffer.from(image).equals(Buffer.from(this.loadedImage))) return
    const temporary = `${this.path}.sqljs-${process.pid}.tmp`
    writeFileSync(temporary, image) // --allow-fs: sql.js persistence, see above
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

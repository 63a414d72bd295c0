import { existsSync } from 'node:fs'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { createRequire } from 'node:module'
import type {
  AdapterIdentity, Capabilities, OpenOptions, RunResult, SqliteAdapter, SqliteConnection, SqliteRow,
  SqliteStatement, SqliteValue,
} from '@kanban-db/core/adapter'
import { BoardNotFound, UnsupportedRuntime } from '@kanban-db/core'
import { acquireLockWith, sqlPragmaHooks } from '@kanban-db/core/adapter'
import { decodeNodeSqliteError } from './decode-error.js'
import { assertSupportedNode, SUPPORTED_NODE } from './node-version.js'

const require = createRequire(import.meta.url)

/** What node:sqlite can do: a real shared file with WAL, locks and (module-level) online backup. */
export const capabilities: Capabilities = {
  sharedFile: true,
  wal: true,
  crossProcessLock: true,
  onlineBackup: true,
  workerThreads: true,
}

/**
 * Creates the node:sqlite adapter (Node >= 22.13). This is the package's default export.
 * The module is loaded lazily: on an older Node.js importing this package works and this call
 * throws `UnsupportedRuntime`.
 */
export async function createAdapter(): Promise<SqliteAdapter> {
  assertSupportedNode()
  const sqlite = loadNodeSqlite()
  const probe = new sqlite.DatabaseSync(':memory:')
  const sqliteVersion = (probe.prepare('select sqlite_version() as v').get() as { v: string }).v
  probe.close()
  const identity: AdapterIdentity = {
    name: 'node:sqlite',
    moduleName: '@kanban-db/adapter-node-sqlite',
    driver: 'node:sqlite',
    driverVersion: process.versions.node,
    sqliteVersion,
    // node:sqlite's SQLite is compiled into the node binary itself.
    sqliteCopy: `node:sqlite:${process.execPath}@${process.versions.node}`,
  }

  const open = async (path: string, options: OpenOptions = {}): Promise<SqliteConnection> => {
    const readOnly = options.readonly ?? false
    // node:sqlite has no "must exist" flag: check with stat (never an open) so that a read-only or
    // `create: false` open never leaves an empty file behind.
    if (path !== ':memory:' && (readOnly || options.create === false) && !existsSync(path)) {
      throw new BoardNotFound(`No database at ${path}, and this open may not create one (readonly or create: false).`, { details: { path } })
    }
    const database = new sqlite.DatabaseSync(path, {
      readOnly,
      // The hygiene policy sets busy_timeout as its first statement (default 5000 ms); the driver's
      // own default is 0, which lock polling (acquireLock) relies on.
      timeout: 0,
      enableForeignKeyConstraints: true,
    })
    return new NodeSqliteConnection(path, database, sqlite.backup)
  }

  return {
    identity,
    capabilities,
    open,
    ...sqlPragmaHooks,
    decodeError: decodeNodeSqliteError,
    acquireLock: (lockPath, lockOptions) => acquireLockWith(open, lockPath, lockOptions),
  }
}

export default createAdapter

type NodeSqlite = typeof import('node:sqlite')
type Backup = NodeSqlite['backup']

function loadNodeSqlite(): NodeSqlite {
  try {
    return require('node:sqlite') as NodeSqlite
  } catch (error) {
    // Node 23.0 to 23.3 kept node:sqlite behind --experimental-sqlite.
    throw new UnsupportedRuntime(
      `node:sqlite is not available in Node.js ${process.versions.node}. Run on Node.js 22.13 or newer (Node 24 LTS ` +
        'recommended), or use @kanban-db/adapter-better-sqlite3 on this Node.js.',
      { cause: error, details: { node: process.versions.node, needs: SUPPORTED_NODE, adapter: '@kanban-db/adapter-node-sqlite' } },
    )
  }
}

class NodeSqliteConnection implements SqliteConnection {
  constructor(
    readonly path: string,
    private readonly database: DatabaseSync,
    private readonly backupDatabase: Backup,
  ) {}

  get isOpen(): boolean {
    return this.database.isOpen
  }

  get inTransaction(): boolean {
    return this.database.isOpen && this.database.isTransaction
  }

  prepare(sql: string): SqliteStatement {
    return new NodeSqliteStatement(this.database.prepare(sql))
  }

  exec(sql: string): void {
    this.database.exec(sql)
  }

  async backup(destinationPath: string): Promise<void> {
    await this.backupDatabase(this.database, destinationPath)
  }

  close(): void {
    if (this.database.isOpen) this.database.close()
  }
}

class NodeSqliteStatement implements SqliteStatement {
  readonly reader: boolean

  constructor(private readonly statement: StatementSync) {
    // node:sqlite statements have no `reader`: a statement returns rows when it has result columns.
    this.reader = statement.columns().length > 0
  }

  all(parameters: readonly SqliteValue[]): SqliteRow[] {
    return this.statement.all(...(parameters as SqliteValue[])) as SqliteRow[]
  }

  run(parameters: readonly SqliteValue[]): RunResult {
    const { changes, lastInsertRowid } = this.statement.run(...(parameters as SqliteValue[]))
    return { changes: Number(changes), lastInsertRowid }
  }

  finalize(): void {
    // node:sqlite finalizes statements when they are garbage collected or the database closes.
  }
}

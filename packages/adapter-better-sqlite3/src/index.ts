import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import type {
  AcquireLockOptions, AdapterIdentity, Capabilities, OpenOptions, ProcessLock, RunResult, SqliteAdapter,
  SqliteConnection, SqliteRow, SqliteStatement, SqliteValue,
} from '@kanban-db/core/adapter'
import { acquireLockWith, sqlPragmaHooks } from '@kanban-db/core/adapter'
import { decodeBetterSqlite3Error } from './decode-error.js'
import { assertSupportedNode } from './node-version.js'

const require = createRequire(import.meta.url)

/** What better-sqlite3 can do: a real shared file with WAL, locks and the online backup API. */
export const capabilities: Capabilities = {
  sharedFile: true,
  wal: true,
  crossProcessLock: true,
  onlineBackup: true,
  workerThreads: true,
}

/**
 * A better-sqlite3 module (its default export, the `Database` class), typed by what the adapter
 * calls, so that this package's types do not need `@types/better-sqlite3`.
 */
export type BetterSqlite3Driver = new (
  path: string,
  options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
) => object

/** Options for {@link createAdapter}. */
export interface BetterSqlite3AdapterOptions {
  /** The better-sqlite3 module to use (default: the one this package depends on). */
  readonly driver?: BetterSqlite3Driver
}

/**
 * Creates the better-sqlite3 adapter. This is the package's default export. On a Node.js older
 * than 22.13 it throws `UnsupportedRuntime` before better-sqlite3 is loaded.
 */
export async function createAdapter(options: BetterSqlite3AdapterOptions = {}): Promise<SqliteAdapter> {
  assertSupportedNode()
  const Database = (options.driver ?? require('better-sqlite3')) as typeof BetterSqlite3
  const driverPackage = require.resolve('better-sqlite3/package.json')
  const probe = new Database(':memory:')
  const sqliteVersion = (probe.prepare('select sqlite_version() as v').get() as { v: string }).v
  probe.close()
  const identity: AdapterIdentity = {
    name: 'better-sqlite3',
    moduleName: '@kanban-db/adapter-better-sqlite3',
    driver: 'better-sqlite3',
    driverVersion: (require(driverPackage) as { version: string }).version,
    sqliteVersion,
    // Each installed copy of better-sqlite3 loads its own native SQLite.
    sqliteCopy: `better-sqlite3:${dirname(driverPackage)}`,
  }

  const open = async (path: string, openOptions: OpenOptions = {}): Promise<SqliteConnection> => {
    const readonly = openOptions.readonly ?? false
    const database = new Database(path, {
      readonly,
      fileMustExist: readonly || openOptions.create === false,
      // Core's write path owns waiting and retrying; the driver waits this long per attempt only
      // when core's policy does not set busy_timeout itself.
      timeout: 0,
    })
    return new BetterSqlite3Connection(path, database)
  }

  return {
    identity,
    capabilities,
    open,
    ...sqlPragmaHooks,
    decodeError: decodeBetterSqlite3Error,
    acquireLock: (lockPath: string, lockOptions: AcquireLockOptions): Promise<ProcessLock> =>
      acquireLockWith(open, lockPath, lockOptions),
  }
}

export default createAdapter

class BetterSqlite3Connection implements SqliteConnection {
  constructor(
    readonly path: string,
    private readonly database: BetterSqlite3.Database,
  ) {}

  get isOpen(): boolean {
    return this.database.open
  }

  get inTransaction(): boolean {
    return this.database.inTransaction
  }

  prepare(sql: string): SqliteStatement {
    return new BetterSqlite3Statement(this.database.prepare(sql))
  }

  exec(sql: string): void {
    this.database.exec(sql)
  }

  async backup(destinationPath: string): Promise<void> {
    await this.database.backup(destinationPath)
  }

  close(): void {
    if (this.database.open) this.database.close()
  }
}

class BetterSqlite3Statement implements SqliteStatement {
  readonly reader: boolean

  constructor(private readonly statement: BetterSqlite3.Statement) {
    this.reader = statement.reader
  }

  all(parameters: readonly SqliteValue[]): SqliteRow[] {
    return this.statement.all(...parameters) as SqliteRow[]
  }

  run(parameters: readonly SqliteValue[]): RunResult {
    return this.statement.run(...parameters)
  }

  finalize(): void {
    // better-sqlite3 frees statements when they are garbage collected.
  }
}

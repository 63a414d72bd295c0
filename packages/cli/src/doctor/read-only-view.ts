import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { fileIdentity, fileRegistryKey, loadAdapter, openFileEntry, type SqliteConnection, type SqliteRow, type SqliteValue } from '@kanban-db/core/internal'

/**
 * How the doctor reads a SQLite board without writing a byte, sidecars included:
 * - `shared`: `-wal` and `-shm` exist (someone has the board open, or a crash left them): a read-only
 *   connection with `readonly_shm=1` maps `-shm` read-only (so not even a read mark is written
 *   into it; SQLite then reads the WAL into private memory when it must), creates nothing, and
 *   never checkpoints or deletes anything on close.
 * - `rollback`: the board is not in WAL mode: an ordinary read-only connection creates nothing.
 * - `immutable`: the board is in WAL mode and has no sidecars (nobody has it open): an ordinary
 *   read-only open would create an empty `-wal` and `-shm` and leave them behind (measured), so
 *   SQLite's `immutable=1` reads the file with no lock and no sidecar. A process that opens the
 *   board during the doctor's few reads could make them inconsistent; the doctor says so.
 * - `this-process`: this process already has the board open through another SQLite copy (the live
 *   board embeds the doctor): that same copy reads it, since a second copy's close would drop this
 *   process's locks (hazard H1).
 */
export type ViewMode = 'shared' | 'rollback' | 'immutable' | 'this-process'

/** A read-only connection to the board, with how it was opened. */
export interface ReadOnlyView {
  readonly connection: SqliteConnection
  readonly mode: ViewMode
  /**
   * The journal mode as SQLite reads it; for `immutable`, `wal` (SQLite refused a lock-free
   * ordinary open, which it does exactly for a WAL file without sidecars).
   */
  readonly journalMode: string
  /** The SQLite library reading it. */
  readonly sqlite: string
}

const require = createRequire(import.meta.url)
/** SQLITE_CANTOPEN: what a lock-free read-only open of a WAL file without sidecars meets at its first read. */
const SQLITE_CANTOPEN = 14

/** Opens `realPath` read-only in the way that writes nothing (see {@link ViewMode}). */
export async function openReadOnlyView(realPath: string, sidecars: { wal: boolean; shm: boolean }): Promise<ReadOnlyView> {
  const identity = fileIdentity(realPath)
  const heldHere = identity === undefined ? undefined : openFileEntry(fileRegistryKey(identity))
  if (heldHere !== undefined && heldHere.adapterName !== 'node:sqlite') {
    const module = heldHere.adapterName === 'better-sqlite3' ? '@kanban-db/adapter-better-sqlite3' : undefined
    if (module !== undefined) {
      const adapter = await loadAdapter(module, import.meta.dirname)
      const connection = await adapter.open(realPath, { readonly: true, create: false })
      return { connection, mode: 'this-process', journalMode: adapter.probeJournalMode(connection), sqlite: `${adapter.identity.name} (SQLite ${adapter.identity.sqliteVersion})` }
    }
  }
  const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite')
  const url = pathToFileURL(realPath).href
  const open = (query: string) => new NodeSqliteView(realPath, new DatabaseSync(`${url}?${query}`, { readOnly: true, timeout: 2000 }))
  const sqlite = `node:sqlite (SQLite ${sqliteVersion(DatabaseSync)})`
  if (sidecars.wal && sidecars.shm) {
    const connection = open('mode=ro&readonly_shm=1')
    return { connection, mode: 'shared', journalMode: firstText(connection, 'PRAGMA journal_mode'), sqlite }
  }
  const probe = open('mode=ro&nolock=1')
  try {
    const journalMode = firstText(probe, 'PRAGMA journal_mode')
    probe.close()
    const connection = open('mode=ro')
    return { connection, mode: 'rollback', journalMode, sqlite }
  } catch (error) {
    probe.close()
    if ((error as { errcode?: unknown }).errcode !== SQLITE_CANTOPEN) throw error
  }
  return { connection: open('immutable=1'), mode: 'immutable', journalMode: 'wal', sqlite }
}

function sqliteVersion(DatabaseSync: typeof import('node:sqlite').DatabaseSync): string {
  const memory = new DatabaseSync(':memory:')
  try {
    return String((memory.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v)
  } finally {
    memory.close()
  }
}

/** The first column of the first row of `query`, as lower-case text. */
export function firstText(connection: SqliteConnection, query: string): string {
  const row = connection.prepare(query).all([])[0]
  return String(row === undefined ? '' : Object.values(row)[0]).toLowerCase()
}

/** A node:sqlite connection opened by URI, as core's `SqliteConnection` (reads only). */
class NodeSqliteView implements SqliteConnection {
  constructor(
    readonly path: string,
    private readonly database: import('node:sqlite').DatabaseSync,
  ) {}

  get isOpen(): boolean {
    return this.database.isOpen
  }

  get inTransaction(): boolean {
    return this.database.isTransaction
  }

  prepare(sql: string) {
    const statement = this.database.prepare(sql)
    return {
      reader: statement.columns().length > 0,
      all: (parameters: readonly SqliteValue[]) => statement.all(...(parameters as SqliteValue[])) as SqliteRow[],
      run: (parameters: readonly SqliteValue[]) => {
        const result = statement.run(...(parameters as SqliteValue[]))
        return { changes: Number(result.changes), lastInsertRowid: result.lastInsertRowid }
      },
      finalize: () => {},
    }
  }

  exec(sql: string): void {
    this.database.exec(sql)
  }

  backup(): Promise<void> {
    return Promise.reject(new Error('The doctor\'s read-only view makes no backups.'))
  }

  close(): void {
    if (this.database.isOpen) this.database.close()
  }
}

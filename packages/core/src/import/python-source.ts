import { createHash } from 'node:crypto'
import { existsSync, readFileSync, realpathSync, statSync, type Stats } from 'node:fs'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { ImportFailed } from '../errors/errors.js'
import { inodeKey, parseProcLocks } from '../hygiene/lock-audit.js'

/**
 * Reading the Python agent gateway's `kanban.db` (NousResearch/hermes-agent,
 * `hermes_cli/kanban_db.py`) without ever changing it.
 *
 * Why not a read-only open through a kanban-db adapter: SQLite opens a WAL database read-only only
 * through its -shm, and when the -wal and -shm are missing it CREATES them (and leaves them behind:
 * a read-only connection cannot checkpoint, so it cannot delete them). Reproduced with
 * better-sqlite3 13 and node:sqlite on a WAL file closed cleanly by Python's sqlite3. The one open
 * that touches nothing but the database file is SQLite's `immutable=1` URI parameter: no locks, no
 * -shm, no journal. It is safe only when nothing else is in the file's sidecars and nobody writes
 * it meanwhile, so the preflight below refuses otherwise (`ImportFailed`, reason `source-busy`) and
 * the import checks after reading that the file did not change (`source-changed`). better-sqlite3
 * has no URI filenames and the adapter contract has no immutable open, so the source is read with
 * Node's built-in `node:sqlite` (Node >= 22.13), whatever adapter the target board uses. Nothing
 * here opens the database or its sidecars with `fs`: `stat` and `/proc/locks` only.
 */

/** A row as SQLite returns it. */
export type SourceRow = Readonly<Record<string, unknown>>

/** Every row of the Python board, read in one pass. */
export interface PythonBoardRows {
  readonly tasks: readonly SourceRow[]
  readonly links: readonly SourceRow[]
  readonly comments: readonly SourceRow[]
  readonly events: readonly SourceRow[]
  readonly runs: readonly SourceRow[]
  readonly attachments: readonly SourceRow[]
  readonly subscriptions: readonly SourceRow[]
  /** Columns of `tasks` in this file (the Python board adds columns over time). */
  readonly taskColumns: readonly string[]
  /** Tables the file has that the importer reads (the optional ones may be missing in old files). */
  readonly tables: readonly string[]
}

/** The Python board's tables: the first three are required, the rest appeared in later versions. */
export const PYTHON_TABLES = {
  tasks: 'tasks',
  links: 'task_links',
  events: 'task_events',
  comments: 'task_comments',
  runs: 'task_runs',
  attachments: 'task_attachments',
  subscriptions: 'kanban_notify_subs',
} as const
const REQUIRED_TABLES: readonly string[] = [PYTHON_TABLES.tasks, PYTHON_TABLES.links, PYTHON_TABLES.events]
const REQUIRED_TASK_COLUMNS: readonly string[] = ['id', 'title', 'status', 'created_at']

/** What the preflight saw of the source file (stat only). */
export interface SourceFacts {
  readonly path: string
  readonly size: number
  readonly mtimeMs: number
  readonly inode: string
  /** Sidecars next to the file and their sizes (`-wal`, `-shm`, `-journal`). */
  readonly sidecars: Readonly<Record<string, number>>
}

const SIDECARS = ['-wal', '-shm', '-journal'] as const

/**
 * Checks with `stat` and the kernel's lock table that the source can be read without touching it:
 * no process holds a lock on it (the Python dispatcher or gateway has it open), no -wal or -journal
 * with content (committed data not yet in the file, or a crashed writer's hot journal).
 */
export function preflightSource(path: string): SourceFacts {
  let stats: Stats
  try {
    stats = statSync(path)
  } catch (error) {
    throw new ImportFailed(`No Python board at ${path}: ${(error as Error).message}. Pass the path of its kanban.db.`, { cause: error, details: { reason: 'unreadable', path } })
  }
  if (!stats.isFile()) throw new ImportFailed(`${path} is not a file. Pass the path of the Python board's kanban.db.`, { details: { reason: 'unreadable', path } })
  const sidecars: Record<string, number> = {}
  for (const suffix of SIDECARS) {
    if (existsSync(path + suffix)) sidecars[suffix] = statSync(path + suffix).size
  }
  const facts: SourceFacts = { path, size: stats.size, mtimeMs: stats.mtimeMs, inode: inodeKey(stats) ?? '', sidecars }
  const holders = lockHolders(facts.inode)
  if (holders.length > 0) {
    throw new ImportFailed(
      `The Python board ${path} is open in process ${holders.join(', ')} (it holds locks on the file). ` +
        'Stop its dispatcher, gateway and workers (the last one to close folds its WAL into the file), then import again. The file was not changed.',
      { details: { reason: 'source-busy', path, pids: holders, sidecars } },
    )
  }
  const pending = (['-wal', '-journal'] as const).filter((suffix) => (sidecars[suffix] ?? 0) > 0)
  if (pending.length > 0) {
    throw new ImportFailed(
      `The Python board ${path} has a non-empty ${pending.join(' and ')}: committed transactions not yet in the file, a crashed writer's journal, ` +
        'or journal_mode=PERSIST. Open it once with the Python board (or `sqlite3 kanban.db "PRAGMA wal_checkpoint(TRUNCATE)"`; for PERSIST, ' +
        '`PRAGMA journal_mode=DELETE`) and close it, then import again. The file was not changed.',
      { details: { reason: 'source-busy', path, sidecars } },
    )
  }
  return facts
}

/** Pids holding POSIX locks on the inode (Linux; elsewhere the sidecar checks stand alone). */
function lockHolders(inode: string): number[] {
  if (process.platform !== 'linux' || inode === '') return []
  let table: string
  try {
    table = readFileSync('/proc/locks', 'utf8')
  } catch {
    return []
  }
  return [...new Set(parseProcLocks(table).filter((lock) => lock.inode === inode).map((lock) => lock.pid))]
}

/** Throws `source-changed` when the file or its sidecars differ from what the preflight saw. */
export function assertUnchanged(before: SourceFacts): void {
  const after = preflightSource(before.path)
  const same =
    after.size === before.size &&
    after.mtimeMs === before.mtimeMs &&
    after.inode === before.inode &&
    JSON.stringify(after.sidecars) === JSON.stringify(before.sidecars)
  if (!same) {
    throw new ImportFailed(`The Python board ${before.path} was written while it was being read. Stop every process that uses it, then import again.`, {
      details: { reason: 'source-changed', path: before.path, before, after },
    })
  }
}

interface ImmutableDatabase {
  prepare(sql: string): { all(...parameters: unknown[]): unknown[] }
  close(): void
}

function openImmutable(path: string): ImmutableDatabase {
  let DatabaseSync: new (location: string | URL, options: { readOnly: boolean }) => ImmutableDatabase
  try {
    // A synchronous, lazy load: core also runs where node:sqlite is missing, and only this reader needs it.
    DatabaseSync = (createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: typeof DatabaseSync }).DatabaseSync
  } catch (error) {
    throw new ImportFailed(`Reading a Python board needs Node's built-in node:sqlite (Node >= 22.13); this is Node ${process.versions.node}. Run the import with a newer Node.`, {
      cause: error,
      details: { reason: 'no-reader', node: process.versions.node },
    })
  }
  const url = pathToFileURL(path)
  url.searchParams.set('immutable', '1')
  try {
    return new DatabaseSync(url, { readOnly: true })
  } catch (error) {
    throw new ImportFailed(`SQLite could not open ${path} read-only: ${(error as Error).message}. The file was not changed.`, { cause: error, details: { reason: 'unreadable', path } })
  }
}

/**
 * Reads every row the importer needs, in source order (ids ascending), through an immutable
 * read-only open. Throws `ImportFailed` (`not-a-python-board`, `unreadable`) with SQLite's error as
 * `cause`; the connection is closed whatever happens.
 */
export function readPythonBoard(path: string): PythonBoardRows {
  const database = openImmutable(path)
  try {
    let tables: string[]
    try {
      tables = (database.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name)
    } catch (error) {
      throw new ImportFailed(`${path} is not a SQLite database SQLite can read: ${(error as Error).message}. The file was not changed.`, {
        cause: error,
        details: { reason: 'not-a-python-board', path },
      })
    }
    const missing = REQUIRED_TABLES.filter((table) => !tables.includes(table))
    if (missing.length > 0) {
      throw new ImportFailed(`${path} is not a Python agent gateway board: it has no ${missing.join(', ')} table. Pass the gateway's kanban.db. The file was not changed.`, {
        details: { reason: 'not-a-python-board', path, missing, tables },
      })
    }
    const taskColumns = (database.prepare(`PRAGMA table_info(${PYTHON_TABLES.tasks})`).all() as { name: string }[]).map((row) => row.name)
    const missingColumns = REQUIRED_TASK_COLUMNS.filter((column) => !taskColumns.includes(column))
    if (missingColumns.length > 0) {
      throw new ImportFailed(`${path} is not a Python agent gateway board: its tasks table has no ${missingColumns.join(', ')} column. The file was not changed.`, {
        details: { reason: 'not-a-python-board', path, missingColumns },
      })
    }
    const read = (table: string, order: string): SourceRow[] => {
      if (!tables.includes(table)) return []
      try {
        return (database.prepare(`SELECT * FROM ${table} ORDER BY ${order}`).all() as SourceRow[]).map((row) => ({ ...row }))
      } catch (error) {
        throw new ImportFailed(`SQLite could not read the ${table} table of ${path}: ${(error as Error).message}. The file was not changed.`, {
          cause: error,
          details: { reason: 'unreadable', path, table },
        })
      }
    }
    return {
      tasks: read(PYTHON_TABLES.tasks, 'created_at, id'),
      links: read(PYTHON_TABLES.links, 'child_id, parent_id'),
      comments: read(PYTHON_TABLES.comments, 'id'),
      events: read(PYTHON_TABLES.events, 'id'),
      runs: read(PYTHON_TABLES.runs, 'id'),
      attachments: read(PYTHON_TABLES.attachments, 'id'),
      subscriptions: read(PYTHON_TABLES.subscriptions, 'task_id, platform, chat_id, thread_id'),
      taskColumns,
      tables: tables.filter((table) => (Object.values(PYTHON_TABLES) as string[]).includes(table)),
    }
  } finally {
    database.close()
  }
}

/**
 * The source's identity, recorded on every imported task (`meta.imported.source`): a hash of its
 * oldest tasks (id and creation time), which stay the same while the Python board grows, so a
 * second import of the same board recognises what it imported before, even from another path.
 */
export function sourceIdentity(rows: PythonBoardRows): string {
  const hash = createHash('sha256').update('hermes-kanban\n')
  for (const task of rows.tasks.slice(0, 16)) hash.update(`${String(task['id'])}\t${String(task['created_at'])}\n`)
  return `hermes-${hash.digest('hex').slice(0, 12)}`
}

/** The real path, for telling whether source and target are one file. */
export function realPath(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

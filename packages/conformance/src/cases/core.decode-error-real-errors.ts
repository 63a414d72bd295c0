import { strict as assert } from 'node:assert'
import { writeFileSync } from 'node:fs'
import { Busy, NotADatabase } from '@kanban-db/core'
import { classifySqliteError, type SqliteConnection, type SqliteErrorDecoder } from '@kanban-db/core/adapter'
import type { CaseContext, ConformanceCase } from '../case.js'
import { describeError } from '../run-task.js'

/** An error in the shape another bundled driver throws, and how to tell that shape. */
interface DriverShape {
  readonly driver: string
  readonly error: () => Error
  readonly has: (error: unknown) => boolean
}

/** better-sqlite3 throws a `SqliteError` with SQLite's name as `code`; node:sqlite an `ERR_SQLITE_ERROR` with the number as `errcode`. */
const DRIVER_SHAPES: readonly DriverShape[] = [
  {
    driver: 'better-sqlite3',
    error: () => Object.assign(new Error('database is locked'), { name: 'SqliteError', code: 'SQLITE_BUSY' }),
    has: (error) => error instanceof Error && error.name === 'SqliteError',
  },
  {
    driver: 'node:sqlite',
    error: () => Object.assign(new Error('database is locked'), { code: 'ERR_SQLITE_ERROR', errcode: 5 }),
    has: (error) => (error as { code?: unknown } | undefined)?.code === 'ERR_SQLITE_ERROR',
  },
]

/**
 * The adapter's `decodeError` names its driver's real errors with SQLite's code, which core turns
 * into its named errors (`Busy`, `NotADatabase`, ...): a write lock held by another connection to
 * a file on disk gives SQLITE_BUSY; constraint violations give their extended codes (UNIQUE through
 * `exec` and through a prepared statement, NOT NULL, CHECK); a text file read as a database gives
 * SQLITE_NOTADB (through `exec` and through a statement). And it names nothing else: each of those
 * messages copied into a plain `Error`, SQLite's text alone, a string, an error of the driver that
 * is not SQLite's (a statement used after its connection closed), and the shape of another bundled
 * driver's errors (a shape the driver's own real errors have is left out: a decoder cannot tell a
 * copy of its own shape from the real thing). `decodeError` is optional: an adapter without one is
 * skipped, saying so.
 */
export const decodeErrorRealErrors: ConformanceCase = {
  id: 'core.decode-error-real-errors',
  title: "decodeError names the driver's real errors (a held write lock, constraints, a file that is not a database) and leaves every other error alone",
  tier: 'core',
  requires: [],
  timeoutMs: 30_000,
  async run(context) {
    const { adapter } = context
    if (typeof adapter.decodeError !== 'function') {
      context.skip("the adapter has no decodeError (it is optional): core reads its driver's errors by SQLite's conventions, so there is no decoder to check")
    }
    const decode: SqliteErrorDecoder = (error) => adapter.decodeError?.(error)
    const named = (error: unknown, code: string, what: string) => {
      const decoded = decode(error)
      assert.deepEqual(decoded, { code }, `${what}: decodeError gave ${JSON.stringify(decoded)} for ${describeError(error)}, not { code: '${code}' }`)
      context.note(`${what}: ${code}`)
    }
    const leftAlone = (error: unknown, what: string) => {
      const decoded = decode(error)
      assert.equal(decoded, undefined, `${what}: decodeError named ${describeError(error)} ${JSON.stringify(decoded)}; it is not an error the driver threw`)
    }

    const holder = await adapter.open(context.path('board.db'))
    const real: unknown[] = []
    let busy: unknown
    try {
      holder.exec('CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1)')
      const { other, table, how } = await secondConnection(context, holder)
      try {
        holder.exec('BEGIN IMMEDIATE')
        busy = thrownBy(() => other.exec(`INSERT INTO ${table} VALUES (2)`), 'a write while another connection holds the write lock')
        holder.exec('ROLLBACK')
      } finally {
        other.close()
      }
      assert.match(errorMessage(busy), /database is locked/, `the write under a held lock failed with ${describeError(busy)}, not SQLite's busy error`)
      named(busy, 'SQLITE_BUSY', `a held write lock (${how})`)
      const classified = classifySqliteError(busy, 'testing')
      assert.ok(classified instanceof Busy, `core classified the busy error as ${describeError(classified)}, not Busy`)
      assert.equal(classified.sqliteCode, 'SQLITE_BUSY')
      assert.equal(classified.cause, busy, "core's Busy does not keep the driver's error as its cause")

      const uniqueByExec = thrownBy(() => holder.exec('INSERT INTO t VALUES (1)'), 'a duplicate through exec')
      named(uniqueByExec, 'SQLITE_CONSTRAINT_UNIQUE', 'a UNIQUE violation through exec')
      const uniqueByStatement = thrownBy(() => holder.prepare('INSERT INTO t VALUES (?)').run([1]), 'a duplicate through a statement')
      named(uniqueByStatement, 'SQLITE_CONSTRAINT_UNIQUE', 'a UNIQUE violation through a prepared statement')
      const notNull = thrownBy(() => holder.exec('CREATE TABLE n (x NOT NULL); INSERT INTO n VALUES (NULL)'), 'a NULL into a NOT NULL column')
      named(notNull, 'SQLITE_CONSTRAINT_NOTNULL', 'a NOT NULL violation')
      const check = thrownBy(() => holder.exec('CREATE TABLE c (x CHECK (x > 0)); INSERT INTO c VALUES (0)'), 'a row failing a CHECK')
      named(check, 'SQLITE_CONSTRAINT_CHECK', 'a CHECK violation')
      real.push(busy, uniqueByExec, uniqueByStatement, notNull, check)
    } finally {
      holder.close()
    }

    const notes = context.path('notes.txt')
    writeFileSync(notes, 'plain text, not a SQLite file\n'.repeat(200)) // no connection has it open
    for (const via of ['exec', 'statement'] as const) {
      const notADatabase = await readAsDatabase(context, notes, via)
      named(notADatabase, 'SQLITE_NOTADB', `a text file read as a database through ${via === 'exec' ? 'exec' : 'a statement'}`)
      const classified = classifySqliteError(notADatabase, 'testing')
      assert.ok(classified instanceof NotADatabase, `core classified the not-a-database error as ${describeError(classified)}, not NotADatabase`)
      real.push(notADatabase)
    }

    for (const error of real) leftAlone(new Error(errorMessage(error)), `SQLite's message '${errorMessage(error)}' in a plain Error`)
    leftAlone(new Error('database is locked'), "SQLite's busy text in a plain Error")
    leftAlone('SQLITE_BUSY', 'a string')
    const closing = await adapter.open(':memory:')
    const orphan = closing.prepare('SELECT 1')
    closing.close()
    leftAlone(thrownBy(() => orphan.all([]), 'a statement used after its connection closed'), "the driver's error for a statement of a closed connection")
    for (const shape of DRIVER_SHAPES) {
      if (shape.has(busy)) {
        context.note(`${shape.driver}'s error shape not checked: this driver's own errors have it`)
        continue
      }
      leftAlone(shape.error(), `an error in ${shape.driver}'s shape`)
      context.note(`${shape.driver}'s error shape left alone`)
    }
  },
}

/**
 * A second connection to the holder's database, and the name of its table `t` there. Where the
 * file is shared, it opens the same path. An adapter with a private image (no `sharedFile`: sql.js
 * keeps each database as a file of its own in-memory file system, and refuses a second open of the
 * path) gets a connection that attaches the holder's image by the name SQLite reports for it, so
 * SQLite's own locks between the two connections apply.
 */
async function secondConnection(context: CaseContext, holder: SqliteConnection): Promise<{ other: SqliteConnection; table: string; how: string }> {
  if (context.adapter.capabilities.sharedFile) {
    return { other: await context.adapter.open(holder.path), table: 't', how: 'a second connection to the file' }
  }
  const [main] = holder.prepare("SELECT file FROM pragma_database_list WHERE name = 'main'").all([])
  const other = await context.adapter.open(':memory:')
  try {
    other.exec(`ATTACH DATABASE '${String(main?.file).replaceAll("'", "''")}' AS shared`)
  } catch (error) {
    other.close()
    throw error
  }
  return { other, table: 'shared.t', how: "a second connection attached to the holder's private image" }
}

/** What reading `path` as a database threw, through `exec` or a prepared statement (or at open). */
async function readAsDatabase(context: CaseContext, path: string, via: 'exec' | 'statement'): Promise<unknown> {
  let connection: SqliteConnection | undefined
  try {
    connection = await context.adapter.open(path, { readonly: true })
    if (via === 'exec') connection.exec('SELECT * FROM sqlite_master')
    else connection.prepare('SELECT * FROM sqlite_master').all([])
  } catch (error) {
    return error
  } finally {
    connection?.close()
  }
  throw new Error(`reading a text file as a database through ${via} did not throw`)
}

function thrownBy(action: () => unknown, what: string): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error(`${what} did not throw`)
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

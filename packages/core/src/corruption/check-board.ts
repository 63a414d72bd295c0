import { statSync } from 'node:fs'
import { sql, type Kysely } from 'kysely'
import type { SqliteConnection, SqliteRow } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { realBoardPath } from '../hygiene/real-path.js'
import { classifyFailure } from './failure-kind.js'

/** What {@link checkBoard} takes. */
export interface CheckBoardOptions {
  /**
   * Run `PRAGMA integrity_check` (O(N log N), also checks every index against its table) instead of
   * `PRAGMA quick_check` (O(N)). Default false.
   */
  readonly integrity?: boolean
  /**
   * The caller vouches that no other connection is writing or reading right now, so the physical
   * check may run: `PRAGMA wal_checkpoint(TRUNCATE)`, then file size, in-header page count and
   * `page_count` must agree. Default false: without a quiet moment those numbers disagree on healthy
   * files (facts §3), so kanban-db does not compare them.
   */
  readonly quiet?: boolean
}

/**
 * What SQLite tells about the database header. None of the bundled SQLite builds has the
 * `sqlite_dbpage` virtual table (checked on better-sqlite3 13.2, node:sqlite 3.53.4 and sql.js
 * 1.16), so the header is read through what SQLite itself does with it, never with `fs`:
 *
 * - the 16-byte magic: SQLite compares it every time it loads page 1 and raises `SQLITE_NOTADB`
 *   when it differs; reading `sqlite_schema` forces that load;
 * - the page size (offset 16): `PRAGMA page_size`;
 * - the write/read versions (offsets 18/19): SQLite opens the WAL exactly when byte 19 is 2, and
 *   sets both bytes to 2 when it enters WAL, so `PRAGMA journal_mode` = `wal` means 2/2;
 * - the in-header page count (offset 28): SQLite takes `PRAGMA page_count` from it when it is valid
 *   (non-zero and bytes 24..27 == 92..95) and raises `SQLITE_CORRUPT` when it exceeds the file.
 */
export interface HeaderFacts {
  /** How the facts were read: `pragmas` (see above). */
  readonly source: 'pragmas'
  /** SQLite accepted the 16-byte magic "SQLite format 3\0" when it loaded page 1. */
  readonly magicOk: boolean
  readonly pageSize: number
  /** 2 in WAL mode, 1 otherwise (derived from the journal mode SQLite found in the header). */
  readonly writeVersion: number
  readonly readVersion: number
}

/** The content check: `quick_check` or `integrity_check` and what it said. */
export interface ContentCheck {
  readonly kind: 'quick_check' | 'integrity_check'
  /** True when SQLite answered exactly `ok`. */
  readonly ok: boolean
  /** SQLite's lines (`ok`, or one line per problem). */
  readonly messages: readonly string[]
}

/** The physical check run in a quiet moment. */
export interface QuietCheck {
  /** `busy` of `PRAGMA wal_checkpoint(TRUNCATE)`: 1 when a reader or writer kept it from finishing. */
  readonly busy: number
  readonly walFrames: number
  readonly checkpointedFrames: number
  /** Set when the physical comparison was not made, with the reason (busy, not WAL, ...). */
  readonly skipped?: string
  /** Size of the database file by stat, after the checkpoint. */
  readonly fileBytes?: number
  /** Size of the `-wal` file by stat, after the checkpoint (0 after a TRUNCATE that finished). */
  readonly walBytes?: number
  /** The page count SQLite read from the header once the WAL was empty. */
  readonly headerPageCount?: number
  /** True when file bytes == page count x page size and the header page count == `page_count`. */
  readonly agrees?: boolean
}

/** What {@link checkBoard} found. */
export interface BoardCheck {
  readonly path: string
  /** True when nothing is wrong. */
  readonly ok: boolean
  /** True when a finding means the file is damaged (a failed content check, a bad header, SQLITE_CORRUPT). */
  readonly corrupt: boolean
  /** One line per finding, for people. */
  readonly problems: readonly string[]
  readonly journalMode: string
  readonly header: HeaderFacts
  /** `PRAGMA page_count`. */
  readonly pageCount: number
  /** `page_count` x `page_size`: the logical size, right even while page 1 lives in the WAL. */
  readonly databaseBytes: number
  readonly content: ContentCheck
  /** Size of the database file by stat (undefined when there is none, as for `:memory:`). */
  readonly fileBytes: number | undefined
  /** Size of `-wal` by stat (0 when there is none). */
  readonly walBytes: number
  /** Present when the caller asked for `quiet`. */
  readonly quiet?: QuietCheck
}

/** Anything {@link checkBoard} can check: an open connection, or a board (anything with `path` and `db`). */
export type CheckTarget = SqliteConnection | { readonly path: string; readonly db: Kysely<any> }

/**
 * Checks a board's file through SQLite only (the file is never opened with `fs`; stat is used for
 * sizes). It reports the header facts SQLite exposes, `page_count` x `page_size`, the content check
 * and the WAL size; with `quiet`, it also runs `wal_checkpoint(TRUNCATE)` and, when that finished
 * (busy=0), compares file size, in-header page count and `page_count`.
 *
 * It never runs a check known to give false results in WAL mode: "header page count == file size /
 * page size" is only compared right after a finished TRUNCATE checkpoint.
 *
 * Corruption is reported (`corrupt: true`), not thrown. A transient error (busy, I/O) is thrown as
 * the named kanban-db error, because it says nothing about the file.
 */
export async function checkBoard(target: CheckTarget, options: CheckBoardOptions = {}): Promise<BoardCheck> {
  const run = runnerFor(target)
  const path = target.path
  // Sizes are stat'ed at the real path: SQLite keeps -wal beside the file a link points to.
  const realPath = realBoardPath(path)
  const problems: string[] = []
  let corrupt = false
  const noteCorruption = (what: string, error: unknown): void => {
    corrupt = true
    problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`)
  }

  let magicOk = false
  let journalMode = ''
  let pageSize = 0
  let pageCount = 0
  try {
    await run('SELECT count(*) AS n FROM sqlite_schema')
    magicOk = true
    journalMode = String(await first(run, 'PRAGMA journal_mode')).toLowerCase()
    pageSize = Number(await first(run, 'PRAGMA page_size'))
    pageCount = Number(await first(run, 'PRAGMA page_count'))
  } catch (error) {
    rethrowUnlessCorruption(error, `reading the header of ${path}`)
    noteCorruption('SQLite refused the header', error)
  }

  const kind = options.integrity ? 'integrity_check' : 'quick_check'
  let content: ContentCheck = { kind, ok: false, messages: [] }
  if (magicOk) {
    try {
      const messages = (await run(`PRAGMA ${kind}`)).map((row) => String(Object.values(row)[0]))
      content = { kind, ok: messages.length === 1 && messages[0] === 'ok', messages }
      if (!content.ok) {
        corrupt = true
        problems.push(`${kind} found ${messages.length} problem(s): ${messages.slice(0, 5).join('; ')}`)
      }
    } catch (error) {
      rethrowUnlessCorruption(error, `running ${kind} on ${path}`)
      noteCorruption(`${kind} failed`, error)
      content = { kind, ok: false, messages: [error instanceof Error ? error.message : String(error)] }
    }
  }

  let quiet: QuietCheck | undefined
  if (options.quiet && magicOk && !corrupt) {
    quiet = await quietCheck(run, path, realPath, journalMode, pageSize, pageCount)
    if (quiet.agrees === false) {
      corrupt = true
      problems.push(
        `after a finished TRUNCATE checkpoint the file is ${quiet.fileBytes} bytes, the header says ${quiet.headerPageCount} pages ` +
          `and page_count says ${pageCount} pages of ${pageSize} bytes; they must agree`,
      )
    }
  }

  const wal = journalMode === 'wal' ? 2 : 1
  return {
    path,
    ok: problems.length === 0,
    corrupt,
    problems,
    journalMode,
    header: { source: 'pragmas', magicOk, pageSize, writeVersion: wal, readVersion: wal },
    pageCount,
    databaseBytes: pageCount * pageSize,
    content,
    fileBytes: statBytes(realPath),
    walBytes: statBytes(`${realPath}-wal`) ?? 0,
    ...(quiet ? { quiet } : {}),
  }
}

type Runner = (query: string) => Promise<SqliteRow[]>

function runnerFor(target: CheckTarget): Runner {
  if ('prepare' in target && typeof target.prepare === 'function') {
    const connection = target
    return async (query) => connection.prepare(query).all([])
  }
  const { db } = target as { db: Kysely<any> }
  return async (query) => (await sql.raw<SqliteRow>(query).execute(db)).rows
}

async function first(run: Runner, query: string): Promise<unknown> {
  const row = (await run(query))[0]
  return row === undefined ? undefined : Object.values(row)[0]
}

async function quietCheck(run: Runner, path: string, realPath: string, journalMode: string, pageSize: number, pageCount: number): Promise<QuietCheck> {
  if (journalMode !== 'wal') {
    return { busy: 0, walFrames: 0, checkpointedFrames: 0, skipped: `journal mode is ${journalMode || 'unknown'}, not wal: no checkpoint to run` }
  }
  let row: SqliteRow | undefined
  try {
    row = (await run('PRAGMA wal_checkpoint(TRUNCATE)'))[0]
  } catch (error) {
    throw classifySqliteError(error, `checkpointing ${path}`)
  }
  const [busy = 0, walFrames = 0, checkpointedFrames = 0] = Object.values(row ?? {}).map(Number)
  if (busy !== 0) {
    return { busy, walFrames, checkpointedFrames, skipped: 'the checkpoint was busy (another connection was reading or writing): not a quiet moment' }
  }
  // A new read transaction: SQLite loads page 1 again and takes the page count from the header,
  // now that the WAL is empty (and raises SQLITE_CORRUPT if the header claims more than the file).
  const headerPageCount = Number(await first(run, 'PRAGMA page_count'))
  const fileBytes = statBytes(realPath) ?? 0
  const walBytes = statBytes(`${realPath}-wal`) ?? 0
  const agrees = fileBytes === headerPageCount * pageSize && headerPageCount === pageCount
  return { busy, walFrames, checkpointedFrames, fileBytes, walBytes, headerPageCount, agrees }
}

function rethrowUnlessCorruption(error: unknown, doing: string): void {
  const named = classifySqliteError(error, doing)
  if (classifyFailure(named) !== 'corruption') throw named
}

function statBytes(path: string): number | undefined {
  if (path === ':memory:' || path === '') return undefined
  const stats = statSync(path, { throwIfNoEntry: false })
  return stats === undefined ? undefined : stats.size
}

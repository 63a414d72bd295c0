import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { classifySqliteError } from '../errors/classify.js'
import { UnsupportedFilesystem } from '../errors/errors.js'
import { primaryCode, sqliteCodeOf } from '../errors/sqlite-codes.js'

/**
 * What kind of failure the journal-mode step met:
 * - `filesystem`: a property of the filesystem that will not go away (`SQLITE_PROTOCOL` "locking
 *   protocol", `SQLITE_AUTH` "not authorized"): WAL's shared memory or locks cannot work here;
 * - `transient-io`: an I/O error (`SQLITE_IOERR*`, "disk I/O error") that a retry may not meet;
 * - `other`: anything else (busy, corrupt, not a database, a bug).
 */
export type JournalModeFailureKind = 'filesystem' | 'transient-io' | 'other'

/** What the policy does about a failed journal-mode step. */
export type JournalModeDecision =
  | { readonly action: 'fallback-to-delete' }
  | { readonly action: 'raise'; readonly error: unknown }

/** The facts {@link decideJournalModeFailure} weighs. */
export interface JournalModeFailure {
  /** What the probe or `PRAGMA journal_mode=WAL` threw. */
  readonly error: unknown
  /**
   * The journal mode the database header says, read through SQLite (a fresh connection's
   * `PRAGMA journal_mode`); undefined when SQLite could not tell. Never read with `fs`.
   */
  readonly headerMode: string | undefined
  /** `HygienePolicy.allowDeleteFallback`. */
  readonly allowDeleteFallback: boolean
  /** The board path, for messages. */
  readonly path: string
}

/** Sorts a journal-mode error into a {@link JournalModeFailureKind}. */
export function journalModeFailureKind(error: unknown): JournalModeFailureKind {
  const code = sqliteCodeOf(error)
  if (code === undefined) return 'other'
  const primary = primaryCode(code)
  if (primary === 'SQLITE_PROTOCOL' || primary === 'SQLITE_AUTH') return 'filesystem'
  if (primary === 'SQLITE_IOERR') return 'transient-io'
  return 'other'
}

/**
 * The journal-mode fallback rule, pure so it can be tested on its own:
 * fall back to DELETE only for a filesystem-property error, only when SQLite positively says the
 * file is not in WAL, and only when the policy allows it. A transient I/O error is raised as
 * `TransientIO`, never turned into a downgrade; a file SQLite cannot read the mode of is never
 * downgraded either (when unsure, refuse).
 */
export function decideJournalModeFailure(failure: JournalModeFailure): JournalModeDecision {
  const { error, headerMode, path } = failure
  const kind = journalModeFailureKind(error)
  if (kind === 'transient-io') {
    return { action: 'raise', error: classifySqliteError(error, `setting up WAL on ${path} (the journal mode on disk was left as it was)`) }
  }
  if (kind === 'other') return { action: 'raise', error: classifySqliteError(error, `probing or setting the journal mode of ${path}`) }
  const original = error instanceof Error ? error.message : String(error)
  const options = { cause: error, sqliteCode: sqliteCodeOf(error), details: { path, headerMode } }
  if (headerMode === 'wal') {
    return {
      action: 'raise',
      error: new UnsupportedFilesystem(
        `WAL failed on ${path} (${original}), but the database is already in WAL mode: refusing to switch it to DELETE, ` +
          'which would need every other connection gone and can destroy their unwritten frames. ' +
          'Open the board from a local filesystem (WAL needs shared memory and POSIX locks on one host).',
        options,
      ),
    }
  }
  if (headerMode === undefined) {
    return {
      action: 'raise',
      error: new UnsupportedFilesystem(
        `WAL failed on ${path} (${original}) and SQLite could not say which journal mode the file is in, so kanban-db will not downgrade it. ` +
          'Open the board from a local filesystem.',
        options,
      ),
    }
  }
  if (!failure.allowDeleteFallback) {
    return {
      action: 'raise',
      error: new UnsupportedFilesystem(
        `WAL cannot work on the filesystem of ${path} (${original}) and the policy forbids the DELETE fallback (allowDeleteFallback: false). ` +
          'Move the board to a local filesystem, or allow the fallback.',
        options,
      ),
    }
  }
  return { action: 'fallback-to-delete' }
}

/** What {@link establishJournalMode} did. */
export interface JournalModeOutcome {
  /** The journal mode in force afterwards (lower case). */
  readonly journalMode: string
  /** Why the mode is not WAL although the adapter declares WAL, when it fell back. */
  readonly fallbackReason?: string
}

/**
 * Steps 3 and 4 of the open policy: probe `PRAGMA journal_mode`, set WAL only when it is not `wal`
 * already, and on failure apply {@link decideJournalModeFailure}, reading the header's mode through
 * a fresh SQLite connection of the same adapter.
 */
export async function establishJournalMode(
  adapter: SqliteAdapter,
  connection: SqliteConnection,
  path: string,
  allowDeleteFallback: boolean,
): Promise<JournalModeOutcome> {
  let probed: string
  try {
    probed = adapter.probeJournalMode(connection)
    if (probed === 'wal') return { journalMode: 'wal' }
    const set = adapter.setPragma(connection, 'journal_mode', 'WAL').toLowerCase()
    if (set === 'wal') return { journalMode: 'wal' }
    throw new UnsupportedFilesystem(
      `PRAGMA journal_mode=WAL on ${path} left the mode at ${set}: SQLite cannot run WAL on this file (in memory, or a VFS without shared memory).`,
      { details: { path, journalMode: set } },
    )
  } catch (error) {
    if (error instanceof UnsupportedFilesystem) throw error
    const decision = decideJournalModeFailure({
      error,
      headerMode: await headerJournalMode(adapter, path),
      allowDeleteFallback,
      path,
    })
    if (decision.action === 'raise') throw decision.error
    const original = error instanceof Error ? error.message : String(error)
    const journalMode = adapter.setPragma(connection, 'journal_mode', 'DELETE').toLowerCase()
    return { journalMode, fallbackReason: `WAL is not possible on this filesystem (${original}); fell back to journal_mode=${journalMode}` }
  }
}

/**
 * The journal mode a fresh connection of `adapter` reads from the file's header, through SQLite;
 * undefined when SQLite cannot tell (the open or the probe fails).
 */
export async function headerJournalMode(adapter: SqliteAdapter, path: string): Promise<string | undefined> {
  let fresh: SqliteConnection | undefined
  try {
    fresh = await adapter.open(path, { create: false })
    return adapter.probeJournalMode(fresh)
  } catch {
    return undefined
  } finally {
    fresh?.close()
  }
}

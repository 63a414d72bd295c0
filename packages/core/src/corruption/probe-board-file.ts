import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import { classifySqliteError } from '../errors/classify.js'
import { BoardNotFound } from '../errors/errors.js'
import { checkBoard, type BoardCheck } from './check-board.js'
import { classifyFailure, type FailureKind } from './failure-kind.js'
import { fingerprintFile } from './file-fingerprint.js'

/** What {@link probeBoardFile} found. */
export interface ProbeResult {
  readonly path: string
  /**
   * `healthy`: a fresh read found nothing wrong; `corrupt`: it confirmed damage; `inconclusive`: it
   * could not tell (the file was missing, locked, or an I/O error got in the way): retry later.
   */
  readonly verdict: 'healthy' | 'corrupt' | 'inconclusive'
  /** The check, when the probe got far enough to run it. */
  readonly check?: BoardCheck
  /** What went wrong, for an `inconclusive` verdict or a corrupt file SQLite refused to open. */
  readonly error?: unknown
  /** How the probe's own error was classified, when it had one. */
  readonly errorKind?: FailureKind
}

/** What {@link probeBoardFile} takes. */
export interface ProbeOptions {
  /** Run `integrity_check` instead of `quick_check`. Default false. */
  readonly integrity?: boolean
  /**
   * Called after the checks while the probe's read-only connection is still open. The dispatcher
   * closes its own read-write connection here: with the probe holding a shared lock, SQLite cannot
   * take the exclusive lock it needs to checkpoint on close, so a corrupt board is not written to
   * on its way into quarantine.
   */
  readonly whileOpen?: (result: ProbeResult) => void | Promise<void>
}

/**
 * Looks at a board file afresh: a new READ-ONLY connection through `adapter` (the same SQLite copy
 * the caller uses, so no lock is dropped; no hygiene policy, no journal-mode change, no writes; a
 * read-only connection never checkpoints on close), which loads page 1 (SQLite checks the magic),
 * then runs `quick_check`. This is the confirmation a supervisor needs before it quarantines a
 * board, and the probe that lets a quarantined board out.
 *
 * A read-only open of a WAL board may create an empty `-wal` or `-shm` beside it when they are
 * missing; the database file itself is never written.
 */
export async function probeBoardFile(adapter: SqliteAdapter, path: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  if (!fingerprintFile(path).exists) {
    const result: ProbeResult = { path, verdict: 'inconclusive', error: new BoardNotFound(`No file at ${path} to probe.`, { details: { path } }), errorKind: 'other' }
    await options.whileOpen?.(result)
    return result
  }
  let connection
  try {
    connection = await adapter.open(path, { readonly: true, create: false })
  } catch (error) {
    const result = fromError(path, classifySqliteError(error, `probing ${path}`))
    await options.whileOpen?.(result)
    return result
  }
  try {
    let result: ProbeResult
    try {
      const check = await checkBoard(connection, { integrity: options.integrity ?? false })
      result = { path, verdict: check.corrupt ? 'corrupt' : 'healthy', check }
    } catch (error) {
      result = fromError(path, classifySqliteError(error, `probing ${path}`))
    }
    await options.whileOpen?.(result)
    return result
  } finally {
    connection.close()
  }
}

function fromError(path: string, error: unknown): ProbeResult {
  const errorKind = classifyFailure(error)
  return { path, verdict: errorKind === 'corruption' ? 'corrupt' : 'inconclusive', error, errorKind }
}

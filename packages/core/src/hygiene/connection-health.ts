import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { fileIdentity } from './file-identity.js'
import { readPragma } from './pragma-policy.js'

/** What `PRAGMA wal_checkpoint` returned the last time this connection ran one. */
export interface CheckpointResult {
  /** The mode asked for: PASSIVE, FULL, RESTART or TRUNCATE. */
  readonly mode: CheckpointMode
  /** 1 when a reader or writer kept the checkpoint from finishing (it pins the WAL). */
  readonly busy: number
  /** Frames in the WAL. */
  readonly walFrames: number
  /** Frames copied back into the database. */
  readonly checkpointedFrames: number
  /** When it ran (ms since the epoch). */
  readonly at: number
}

/** `PRAGMA wal_checkpoint` modes. */
export type CheckpointMode = 'PASSIVE' | 'FULL' | 'RESTART' | 'TRUNCATE'

/** Runs `PRAGMA wal_checkpoint(mode)` and returns SQLite's answer. */
export function runCheckpoint(connection: SqliteConnection, mode: CheckpointMode): CheckpointResult {
  const row = connection.prepare(`PRAGMA wal_checkpoint(${mode})`).all([])[0] ?? {}
  const [busy, log, checkpointed] = Object.values(row).map(Number)
  return { mode, busy: busy ?? 0, walFrames: log ?? 0, checkpointedFrames: checkpointed ?? 0, at: Date.now() }
}

/** Facts about the database read through SQLite: page size, page count and their product. */
export interface DatabaseSize {
  readonly pageSize: number
  readonly pageCount: number
  /** `page_count` x `page_size`: the logical size, right even while page 1 still lives in the WAL. */
  readonly databaseBytes: number
}

/** Reads {@link DatabaseSize} through SQLite (never the header bytes with fs). */
export function databaseSize(connection: SqliteConnection): DatabaseSize {
  const pageSize = Number(readPragma(connection, 'page_size'))
  const pageCount = Number(readPragma(connection, 'page_count'))
  return { pageSize, pageCount, databaseBytes: pageSize * pageCount }
}

/**
 * Bytes of `<path>-wal` by stat (0 when there is none). Stat never opens the file. Pass the board's
 * real path (`realBoardPath`): SQLite keeps `-wal` beside the file a symbolic link points to.
 */
export function walBytes(path: string): number {
  return Number(fileIdentity(`${path}-wal`)?.size ?? 0n)
}

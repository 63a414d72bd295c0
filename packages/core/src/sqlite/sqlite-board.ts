import type { Board, BoardHealth } from '../board/board.js'
import { EngineBoard, type EngineBoardParts } from '../board/engine-board.js'
import { requireString } from '../board/validate.js'
import type { CheckpointMode, CheckpointResult } from '../hygiene/connection-health.js'
import type { HygieneHealth } from '../hygiene/open-connection.js'
import type { SqliteEngine } from './sqlite-engine.js'

/** What `health()` reports on a SQLite board: the board's facts with the hygiene layer's. */
export type SqliteBoardHealth = BoardHealth & HygieneHealth & {
  /** The board file. */
  readonly path: string
}

/**
 * A board in one SQLite file: every {@link Board} operation, plus what only a file has.
 * `openBoard({ path, adapter })` returns one.
 */
export interface SqliteBoard extends Board<SqliteBoardHealth> {
  readonly engine: 'sqlite'
  /** The board file (absolute), or `:memory:`. */
  readonly path: string
  /** Copies the live board to `destinationPath` through the driver's online backup. */
  backupTo(destinationPath: string): Promise<void>
  /** Throws `GhostFile` when the file was deleted, moved or replaced under this board. */
  checkGhost(): void
  /**
   * Runs `PRAGMA wal_checkpoint(mode)` (default PASSIVE, which never waits for readers or writers)
   * once no write of this board is running; `health().lastCheckpoint` reports the last result. The
   * dispatcher runs one per board every `checkpointEveryMs`.
   */
  checkpoint(mode?: CheckpointMode): Promise<CheckpointResult>
}

/** The {@link SqliteBoard}: the engine-neutral board with the file's operations of the SQLite engine. */
export class SqliteFileBoard extends EngineBoard<SqliteBoardHealth> implements SqliteBoard {
  declare readonly engine: 'sqlite'
  readonly path: string
  readonly #sqlite: SqliteEngine

  constructor(parts: EngineBoardParts & { readonly engine: SqliteEngine }) {
    super(parts)
    this.path = parts.engine.location
    this.#sqlite = parts.engine
  }

  async backupTo(destinationPath: string): Promise<void> {
    this.assertOpen()
    requireString('destinationPath', destinationPath, { max: 4096 })
    await this.#sqlite.backupTo(destinationPath)
  }

  checkGhost(): void {
    this.assertOpen()
    this.#sqlite.checkGhost()
  }

  async checkpoint(mode: CheckpointMode = 'PASSIVE'): Promise<CheckpointResult> {
    this.assertOpen()
    return this.#sqlite.checkpoint(mode)
  }
}

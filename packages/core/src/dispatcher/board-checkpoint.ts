import type { Board } from '../board/board.js'
import type { CheckpointMode, CheckpointResult } from '../hygiene/connection-health.js'

/**
 * A board that can checkpoint its WAL: `checkpoint(mode)` runs `PRAGMA wal_checkpoint(mode)` on the
 * board's connection, whose hygiene layer records the result for `health().lastCheckpoint`.
 */
export interface CheckpointingBoard extends Board {
  checkpoint(mode: CheckpointMode): CheckpointResult | Promise<CheckpointResult>
}

/** True when `board` offers `checkpoint` (boards from `openBoard` do once the Board contract has it). */
export function canCheckpoint(board: Board): board is CheckpointingBoard {
  return typeof (board as Partial<CheckpointingBoard>).checkpoint === 'function'
}

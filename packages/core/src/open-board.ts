import type { Board } from './board/board.js'
import { openEngineBoard, type EngineBoardOptions } from './board/open-engine-board.js'
import { openSqliteBoard, type BoardOptions } from './sqlite/open-sqlite-board.js'
import type { SqliteBoard } from './sqlite/sqlite-board.js'

/**
 * Opens a board, creating and migrating it when needed.
 *
 * - `openBoard({ path, adapter })`: a board in a SQLite file through a driver adapter, under the
 *   connection-hygiene policy (see `openSqliteBoard`). Returns a {@link SqliteBoard}.
 * - `openBoard({ engine })`: a board on an engine package's engine, for example
 *   `postgres({ connectionString })` from `@kanban-db/adapter-postgres`. Returns a {@link Board}.
 *
 * The same operations, errors and events on every engine.
 */
export function openBoard(options: EngineBoardOptions): Promise<Board>
export function openBoard(options: BoardOptions): Promise<SqliteBoard>
export function openBoard(options: BoardOptions | EngineBoardOptions): Promise<Board> {
  if (typeof options === 'object' && options !== null && 'engine' in options && options.engine !== undefined) return openEngineBoard(options)
  return openSqliteBoard(options as BoardOptions)
}

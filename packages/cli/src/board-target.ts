import { statSync } from 'node:fs'
import { BoardNotFound, KanbanDbError, openBoard, type Board, type CommonBoardOptions, type SqliteBoard } from '@kanban-db/core'

/**
 * What a command names as its board: a SQLite file path, or a PostgreSQL connection URL
 * (`postgres://` or `postgresql://`; `?schema=NAME` picks the board's schema, default `kanban`).
 */
export type BoardTarget =
  | { readonly engine: 'sqlite'; readonly path: string }
  | { readonly engine: 'postgres'; readonly connectionString: string; readonly schema: string | undefined }

/** Reads a board argument: a URL with a postgres scheme is a server, anything else a file path. */
export function parseBoardTarget(argument: string): BoardTarget {
  if (/^postgres(ql)?:\/\//i.test(argument)) {
    const url = new URL(argument)
    const schema = url.searchParams.get('schema') ?? undefined
    url.searchParams.delete('schema')
    return { engine: 'postgres', connectionString: url.toString(), schema }
  }
  return { engine: 'sqlite', path: argument }
}

/** A board opened for a command; `sqlite` is set when the board is a SQLite file. */
export interface OpenedBoard {
  readonly board: Board
  readonly sqlite: SqliteBoard | undefined
  readonly target: BoardTarget
}

/**
 * Opens the board a command names. SQLite files go through better-sqlite3 when it loads and
 * node:sqlite otherwise; PostgreSQL through node-postgres with a small pool.
 */
export async function openBoardTarget(target: BoardTarget, options: CommonBoardOptions = {}): Promise<OpenedBoard> {
  if (target.engine === 'postgres') {
    const { postgres } = await import('@kanban-db/adapter-postgres')
    const board = await openBoard({
      ...options,
      engine: postgres({ connectionString: target.connectionString, ...(target.schema ? { schema: target.schema } : {}), poolSize: 2 }),
    })
    return { board, sqlite: undefined, target }
  }
  const adapter = await loadSqliteAdapter()
  const sqlite = await openBoard({ ...options, path: target.path, adapter })
  return { board: sqlite, sqlite, target }
}

async function loadSqliteAdapter() {
  try {
    const { createAdapter } = await import('@kanban-db/adapter-better-sqlite3')
    return await createAdapter()
  } catch {
    const { createAdapter } = await import('@kanban-db/adapter-node-sqlite')
    return await createAdapter()
  }
}

/**
 * How a command opens its board:
 * - `read`: read-only; a missing board is `BoardNotFound`, never created;
 * - `write`: writable, but the board must already exist (`BoardNotFound` otherwise, nothing created);
 * - `create`: writable, creating the board when it does not exist (`import`, `add --create`).
 */
export type OpenMode = 'read' | 'write' | 'create'

/** Where a target points, for messages: the file path, or the URL without its password. */
export function describeTarget(target: BoardTarget): string {
  if (target.engine === 'sqlite') return target.path
  const url = new URL(target.connectionString)
  if (url.password) url.password = '***'
  return `${url.toString()}${target.schema ? ` (schema ${target.schema})` : ''}`
}

/**
 * Opens the board a command names in `mode`. A command that writes to an existing board checks that
 * it exists first (a stat of the file; on Postgres a read-only open of the schema), so a mistyped
 * path or schema is reported, not turned into a new empty board.
 */
export async function openForCommand(target: BoardTarget, mode: OpenMode, options: CommonBoardOptions = {}): Promise<OpenedBoard> {
  if (mode === 'read') return openBoardTarget(target, { ...options, readonly: true })
  if (mode === 'write') {
    if (target.engine === 'sqlite') {
      if (target.path !== ':memory:' && statSync(target.path, { throwIfNoEntry: false }) === undefined) {
        throw new BoardNotFound(`No board at ${target.path}. Check the path; nothing was created.`, { details: { path: target.path } })
      }
    } else {
      let probe: OpenedBoard
      try {
        probe = await openBoardTarget(target, { readonly: true })
      } catch (error) {
        if (!KanbanDbError.isKanbanDbError(error) || error.code !== 'BOARD_NOT_FOUND') throw error
        throw new BoardNotFound(`No board in ${describeTarget(target)}. Check the URL and its ?schema=; nothing was created.`, { cause: error, details: error.details })
      }
      await probe.board.close()
    }
  }
  return openBoardTarget(target, options)
}

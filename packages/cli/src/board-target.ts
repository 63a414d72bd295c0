import { openBoard, type Board, type CommonBoardOptions, type SqliteBoard } from '@kanban-db/core'

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

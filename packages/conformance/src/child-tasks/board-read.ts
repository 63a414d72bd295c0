import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { boardSpecArg, openSpecBoard } from '../board-spec.js'

/**
 * Opens the case's board (`args.board`, on any engine) as a child does and returns the ids of its
 * tasks, oldest first, and its engine: the framework's probe that a child of any subject opens the
 * same board as the case.
 */
export async function boardRead(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  const board = await openSpecBoard(boardSpecArg(args), { adapter })
  try {
    return { engine: board.engine, ids: (await board.listTasks({ limit: 10_000 })).map((task) => task.id) }
  } finally {
    await board.close()
  }
}

import { KanbanDbError, openBoard } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'

/**
 * Opens the board file `args.path` through the adapter and creates one task titled `args.title`,
 * then sends `{ opened: true, id }` and holds the board open until the parent sends any message
 * (or kills this process); then it closes the board and returns `{ closed: true }`. When the open
 * or the write fails it sends and returns `{ opened: false, code, name, message }` (`code` is the
 * kanban-db error code, when it is one).
 */
export async function holdBoard(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  let board
  try {
    board = await openBoard({ path: String(args.path), adapter })
    const task = await board.createTask({ title: String(args.title) })
    await channel.send({ opened: true, id: task.id })
  } catch (error) {
    await board?.close()
    const refused = {
      opened: false,
      code: KanbanDbError.isKanbanDbError(error) ? error.code : undefined,
      name: error instanceof Error ? error.name : typeof error,
      message: error instanceof Error ? error.message : String(error),
    }
    await channel.send(refused)
    return refused
  }
  await channel.receive()
  await board.close()
  return { closed: true }
}

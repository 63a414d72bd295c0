import { InvalidInput } from '@kanban-db/core'
import { openForCommand, type OpenedBoard, type OpenMode } from '../board-target.js'
import type { CommandContext } from './command.js'

/** Opens the command's board in `mode`, runs `work` with it, and closes it whatever happens. */
export async function withBoard<T>(context: CommandContext, mode: OpenMode, work: (opened: OpenedBoard) => Promise<T>): Promise<T> {
  if (!context.board) throw new InvalidInput('This command needs a board: a SQLite file path or a postgres:// URL.')
  const opened = await openForCommand(context.board, mode)
  try {
    return await work(opened)
  } finally {
    await opened.board.close()
  }
}

/** A positional the command declared required (the runner checked it is there). */
export function requiredArg(context: CommandContext, name: string): string {
  const value = context.args[name]
  if (value === undefined) throw new InvalidInput(`Missing <${name}>.`)
  return value
}

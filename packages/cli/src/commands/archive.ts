import type { Command } from './command.js'
import { existingTask, reportChange } from './report-change.js'
import { requiredArg, withBoard } from './with-board.js'

/** `kanban-db archive`: puts a task away for good. */
export const archive: Command = {
  name: 'archive',
  summary: 'Put a task away for good (from any status; a running claim ends)',
  positionals: [
    { name: 'board', description: 'A SQLite file path or a postgres:// URL' },
    { name: 'id', description: 'The task id' },
  ],
  options: {},
  examples: ['kanban-db archive board.db 01JD9ZK3M7Q8'],
  async run(context) {
    const taskId = requiredArg(context, 'id')
    return withBoard(context, 'write', async ({ board }) => {
      const before = await existingTask(board, taskId)
      return reportChange(context, 'archived', before, await board.archive(taskId))
    })
  },
}

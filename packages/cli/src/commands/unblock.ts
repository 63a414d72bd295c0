import type { Command } from './command.js'
import { existingTask, reportChange } from './report-change.js'
import { requiredArg, withBoard } from './with-board.js'

/** `kanban-db unblock`: takes a blocked task back to ready (or todo). */
export const unblock: Command = {
  name: 'unblock',
  summary: 'Take a blocked task back to ready (or todo while a dependency is not done)',
  positionals: [
    { name: 'board', description: 'A SQLite file path or a postgres:// URL' },
    { name: 'id', description: 'The task id' },
  ],
  options: {},
  examples: ['kanban-db unblock board.db 01JD9ZK3M7Q8'],
  async run(context) {
    const taskId = requiredArg(context, 'id')
    return withBoard(context, 'write', async ({ board }) => {
      const before = await existingTask(board, taskId)
      return reportChange(context, 'unblocked', before, await board.unblock(taskId))
    })
  },
}

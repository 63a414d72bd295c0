import { InvalidInput } from '@kanban-db/core'
import type { Command } from './command.js'
import { existingTask, reportChange } from './report-change.js'
import { stringOption } from './values.js'
import { requiredArg, withBoard } from './with-board.js'

/** `kanban-db reassign`: gives a task that is not running to another worker profile. */
export const reassign: Command = {
  name: 'reassign',
  summary: 'Give a task that is not running to another worker profile (its failure count starts again)',
  positionals: [
    { name: 'board', description: 'A SQLite file path or a postgres:// URL' },
    { name: 'id', description: 'The task id' },
  ],
  options: {
    to: { type: 'string', valueName: 'NAME', description: 'The worker profile that may claim it' },
    anyone: { type: 'boolean', description: 'Let any claimer take it (no assignee)' },
    reason: { type: 'string', valueName: 'TEXT', description: 'Why, kept in the reassigned event' },
  },
  examples: ['kanban-db reassign board.db 01JD9ZK3M7Q8 --to reviewer --reason "needs a second look"', 'kanban-db reassign board.db 01JD9ZK3M7Q8 --anyone'],
  async run(context) {
    const taskId = requiredArg(context, 'id')
    const assignee = stringOption(context.options['to'])
    const anyone = context.options['anyone'] === true
    if ((assignee === undefined) === !anyone) throw new InvalidInput('Give exactly one of --to NAME or --anyone. Nothing was changed.')
    const reason = stringOption(context.options['reason'])
    return withBoard(context, 'write', async ({ board }) => {
      const before = await existingTask(board, taskId)
      const after = await board.reassign(taskId, anyone ? null : assignee!, reason !== undefined ? { reason } : {})
      return reportChange(context, 'reassigned', before, after, ` to ${after.assignee ?? 'anyone'}`)
    })
  },
}

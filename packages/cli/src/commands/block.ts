import type { Command } from './command.js'
import { existingTask, reportChange } from './report-change.js'
import { stringOption } from './values.js'
import { requiredArg, withBoard } from './with-board.js'

/** `kanban-db block`: parks a task as blocked, with the reason. */
export const block: Command = {
  name: 'block',
  summary: 'Park a todo, ready or running task as blocked (a running claim ends)',
  positionals: [
    { name: 'board', description: 'A SQLite file path or a postgres:// URL' },
    { name: 'id', description: 'The task id' },
    { name: 'reason', description: 'Why, for whoever unblocks it' },
  ],
  options: {
    kind: { type: 'string', valueName: 'KIND', description: 'What it waits for (the same kind twice in a row sends it to triage); default other' },
  },
  examples: ['kanban-db block board.db 01JD9ZK3M7Q8 "Waiting for the API key"', 'kanban-db block board.db 01JD9ZK3M7Q8 "Needs a person" --kind human'],
  async run(context) {
    const taskId = requiredArg(context, 'id')
    const reason = requiredArg(context, 'reason')
    const kind = stringOption(context.options['kind'])
    return withBoard(context, 'write', async ({ board }) => {
      const before = await existingTask(board, taskId)
      const after = await board.block(taskId, reason, kind !== undefined ? { kind } : {})
      return reportChange(context, 'blocked', before, after)
    })
  },
}

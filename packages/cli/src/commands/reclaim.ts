import type { Command } from './command.js'
import { existingTask, reportChange } from './report-change.js'
import { durationOption, stringOption } from './values.js'
import { requiredArg, withBoard } from './with-board.js'

/** `kanban-db reclaim`: takes a live claim back by hand. */
export const reclaim: Command = {
  name: 'reclaim',
  summary: 'Take a live claim back by hand: the task is ready again and the old claim token is refused',
  description: 'For a worker that hangs or was lost: no failure and no attempt is counted. The worker that held the claim can no longer complete, fail or heartbeat it.',
  positionals: [
    { name: 'board', description: 'A SQLite file path or a postgres:// URL' },
    { name: 'id', description: 'The task id' },
    { name: 'reason', description: 'Why, kept on the run and in the reclaimed event' },
  ],
  options: {
    'retry-after': { type: 'string', valueName: 'DURATION', description: 'Not claimable again before this long (500ms, 30s, 10m, 2h)' },
  },
  examples: ['kanban-db reclaim board.db 01JD9ZK3M7Q8 "worker host rebooted"', 'kanban-db reclaim board.db 01JD9ZK3M7Q8 "rate limited upstream" --retry-after 10m'],
  async run(context) {
    const taskId = requiredArg(context, 'id')
    const reason = requiredArg(context, 'reason')
    const retryAfterMs = durationOption('--retry-after', stringOption(context.options['retry-after']))
    return withBoard(context, 'write', async ({ board }) => {
      const before = await existingTask(board, taskId)
      const after = await board.reclaim(taskId, reason, retryAfterMs !== undefined ? { retryAfterMs } : {})
      return reportChange(context, 'reclaimed', before, after)
    })
  },
}

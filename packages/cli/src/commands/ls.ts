import { InvalidInput, TASK_STATUSES, type Task, type TaskStatus } from '@kanban-db/core'
import { writeJson } from '../output/json.js'
import { paintStatus, taskTable } from '../output/task-view.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'
import { integerOption, listOption, stringOption } from './values.js'
import { withBoard } from './with-board.js'

function statusesFrom(values: readonly string[], all: boolean): TaskStatus[] {
  for (const value of values) {
    if (!(TASK_STATUSES as readonly string[]).includes(value)) throw new InvalidInput(`--status ${JSON.stringify(value)} is not a status; the statuses are ${TASK_STATUSES.join(', ')}.`)
  }
  if (values.length > 0) return values as TaskStatus[]
  return all ? [...TASK_STATUSES] : TASK_STATUSES.filter((status) => status !== 'archived')
}

/** `kanban-db ls`: the board's tasks, grouped by status. */
export const ls: Command = {
  name: 'ls',
  summary: 'List tasks by status (archived ones only with --all or --status archived)',
  positionals: [{ name: 'board', description: 'A SQLite file path or a postgres:// URL' }],
  options: {
    status: { type: 'string', multiple: true, valueName: 'STATUS', description: `Only these statuses (comma-separated or repeated): ${TASK_STATUSES.join(', ')}` },
    assignee: { type: 'string', valueName: 'NAME', description: 'Only tasks given to this worker profile' },
    tenant: { type: 'string', valueName: 'NAME', description: 'Only tasks of this tenant' },
    limit: { type: 'string', valueName: 'N', description: 'At most N tasks, oldest first (default 100, at most 10000)' },
    all: { type: 'boolean', short: 'a', description: 'Include archived tasks' },
  },
  examples: ['kanban-db ls board.db', 'kanban-db ls board.db --status ready,running --assignee coder', 'kanban-db ls postgres://localhost/app?schema=kanban --json'],
  async run(context) {
    const statuses = statusesFrom(listOption(context.options['status']), context.options['all'] === true)
    const limit = integerOption('--limit', stringOption(context.options['limit']), { min: 1, max: 10_000 }) ?? 100
    const assignee = stringOption(context.options['assignee'])
    const tenant = stringOption(context.options['tenant'])
    const tasks = await withBoard(context, 'read', ({ board }) =>
      board.listTasks({ status: statuses, limit, ...(assignee !== undefined ? { assignee } : {}), ...(tenant !== undefined ? { tenant } : {}) }),
    )
    const truncated = tasks.length === limit
    if (context.json) {
      writeJson(context.stdout, { tasks, truncated })
      return EXIT.ok
    }
    if (tasks.length === 0) {
      context.stdout.write(`No tasks${context.options['status'] || assignee || tenant ? ' match' : ''}.\n`)
      return EXIT.ok
    }
    const byStatus = new Map<TaskStatus, Task[]>()
    for (const task of tasks) byStatus.set(task.status, [...(byStatus.get(task.status) ?? []), task])
    const sections = TASK_STATUSES.filter((status) => byStatus.has(status)).map((status) => {
      const group = byStatus.get(status)!
      return `${context.color.bold(paintStatus(status, context.color, status.toUpperCase()))} (${group.length})\n${taskTable(group)}`
    })
    context.stdout.write(`${sections.join('\n\n')}\n`)
    if (truncated) context.stdout.write(context.color.dim(`\nShowing the first ${limit} tasks; --limit shows more.\n`))
    return EXIT.ok
  },
}

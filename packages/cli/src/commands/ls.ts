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
    limit: { type: 'string', valueName: 'N', description: 'At most N tasks of each status, oldest first (default 100, at most 10000)' },
    all: { type: 'boolean', short: 'a', description: 'Include archived tasks' },
  },
  examples: ['kanban-db ls board.db', 'kanban-db ls board.db --status ready,running --assignee coder', 'kanban-db ls postgres://localhost/app?schema=kanban --json'],
  async run(context) {
    const statuses = statusesFrom(listOption(context.options['status']), context.options['all'] === true)
    const limit = integerOption('--limit', stringOption(context.options['limit']), { min: 1, max: 10_000 }) ?? 100
    const assignee = stringOption(context.options['assignee'])
    const tenant = stringOption(context.options['tenant'])
    const filtered = assignee !== undefined || tenant !== undefined
    const { groups, counts } = await withBoard(context, 'read', async ({ board }) => {
      const groups: { status: TaskStatus; tasks: Task[] }[] = []
      for (const status of statuses) {
        const tasks = await board.listTasks({ status, limit, ...(assignee !== undefined ? { assignee } : {}), ...(tenant !== undefined ? { tenant } : {}) })
        groups.push({ status, tasks })
      }
      return { groups, counts: filtered ? undefined : (await board.health()).tasks }
    })
    const truncated = groups.filter((group) => group.tasks.length === limit).map((group) => group.status)
    if (context.json) {
      writeJson(context.stdout, { tasks: groups.flatMap((group) => group.tasks), truncated, ...(counts ? { counts } : {}) })
      return EXIT.ok
    }
    const shown = groups.filter((group) => group.tasks.length > 0)
    if (shown.length === 0) {
      context.stdout.write(`No tasks${context.options['status'] || filtered ? ' match' : ''}.\n`)
      return EXIT.ok
    }
    const sections = shown.map(({ status, tasks }) => {
      const total = counts?.[status]
      const count = total !== undefined && total > tasks.length ? `${tasks.length} of ${total}` : String(tasks.length)
      return `${context.color.bold(paintStatus(status, context.color, status.toUpperCase()))} (${count})\n${taskTable(tasks)}`
    })
    context.stdout.write(`${sections.join('\n\n')}\n`)
    if (truncated.length > 0) context.stdout.write(context.color.dim(`\nShowing the oldest ${limit} of each status; --limit shows more.\n`))
    return EXIT.ok
  },
}

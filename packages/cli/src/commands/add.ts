import { userInfo } from 'node:os'
import { InvalidInput, type JsonObject } from '@kanban-db/core'
import { writeJson } from '../output/json.js'
import { paintStatus } from '../output/task-view.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'
import { integerOption, listOption, stringOption } from './values.js'
import { requiredArg, withBoard } from './with-board.js'

function metaFrom(value: string | undefined): JsonObject | undefined {
  if (value === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch (error) {
    throw new InvalidInput(`--meta is not JSON (${error instanceof Error ? error.message : String(error)}). Nothing was created.`, { cause: error })
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidInput('--meta must be a JSON object, e.g. \'{"repo":"web"}\'. Nothing was created.')
  return parsed as JsonObject
}

function currentUser(): string | undefined {
  try {
    return userInfo().username
  } catch {
    return undefined
  }
}

/** `kanban-db add`: creates one task. */
export const add: Command = {
  name: 'add',
  summary: 'Create a task (ready, or todo while a dependency is not done)',
  description: 'The board must exist unless --create is given. The new task\'s id is printed (the whole task with --json).',
  positionals: [
    { name: 'board', description: 'A SQLite file path or a postgres:// URL' },
    { name: 'title', description: 'The task\'s title (1-500 characters)' },
  ],
  options: {
    id: { type: 'string', valueName: 'ID', description: 'Your own id (1-64 of A-Za-z0-9_.:-); default a new time-sortable one' },
    body: { type: 'string', short: 'b', valueName: 'TEXT', description: 'What to do, in full' },
    priority: { type: 'string', short: 'p', valueName: 'N', description: 'Higher is claimed first (default 0)' },
    assignee: { type: 'string', valueName: 'NAME', description: 'Only this worker profile may claim it (default: anyone)' },
    'depends-on': { type: 'string', multiple: true, valueName: 'ID', description: 'A task that must be done first (comma-separated or repeated)' },
    'max-attempts': { type: 'string', valueName: 'N', description: 'Claims before a failure makes it failed (default 3)' },
    'max-retries': { type: 'string', valueName: 'N', description: 'Retries after consecutive failures before it gives up (default the board\'s)' },
    'idempotency-key': { type: 'string', valueName: 'KEY', description: 'A repeated add with the same key returns the existing task' },
    tenant: { type: 'string', valueName: 'NAME', description: 'The tenant the task belongs to' },
    meta: { type: 'string', valueName: 'JSON', description: 'Your own fields, a JSON object' },
    triage: { type: 'boolean', description: 'Start in triage (a person accepts it)' },
    'created-by': { type: 'string', valueName: 'NAME', description: 'Who asked for it (default: your user name)' },
    create: { type: 'boolean', description: 'Create the board if it does not exist' },
  },
  examples: ['kanban-db add board.db "Summarize the logs" --priority 5 --assignee coder', 'kanban-db add board.db "Deploy" --depends-on 01JD9ZK3M7Q8 --body "After the build"', 'kanban-db add new.db "First task" --create'],
  async run(context) {
    const title = requiredArg(context, 'title')
    const options = context.options
    const priority = integerOption('--priority', stringOption(options['priority']))
    const maxAttempts = integerOption('--max-attempts', stringOption(options['max-attempts']), { min: 1, max: 1000 })
    const maxRetries = integerOption('--max-retries', stringOption(options['max-retries']), { min: 0, max: 1000 })
    const dependsOn = listOption(options['depends-on'])
    const meta = metaFrom(stringOption(options['meta']))
    const id = stringOption(options['id'])
    const body = stringOption(options['body'])
    const assignee = stringOption(options['assignee'])
    const idempotencyKey = stringOption(options['idempotency-key'])
    const tenant = stringOption(options['tenant'])
    const createdBy = stringOption(options['created-by']) ?? currentUser()
    const task = await withBoard(context, options['create'] === true ? 'create' : 'write', ({ board }) =>
      board.createTask({
        title,
        ...(id !== undefined ? { id } : {}),
        ...(body !== undefined ? { body } : {}),
        ...(priority !== undefined ? { priority } : {}),
        ...(assignee !== undefined ? { assignee } : {}),
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
        ...(maxAttempts !== undefined ? { maxAttempts } : {}),
        ...(maxRetries !== undefined ? { maxRetries } : {}),
        ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
        ...(meta !== undefined ? { meta } : {}),
        ...(options['triage'] === true ? { triage: true } : {}),
        ...(createdBy !== undefined ? { createdBy } : {}),
      }),
    )
    if (context.json) writeJson(context.stdout, task)
    else context.stdout.write(`${task.id}  ${paintStatus(task.status, context.color)}  ${task.title}\n`)
    return EXIT.ok
  },
}

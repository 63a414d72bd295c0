import { formatDuration, formatJson, formatTime } from '../output/format.js'
import { writeJson } from '../output/json.js'
import { renderFields, renderTable } from '../output/table.js'
import { eventTable, paintStatus } from '../output/task-view.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'
import { existingTask } from './report-change.js'
import { requiredArg, withBoard } from './with-board.js'

/** `kanban-db show`: one task with its dependencies, runs, events, comments and attachments. */
export const show: Command = {
  name: 'show',
  summary: 'Show a task: its fields, dependencies, runs, events, comments and attachments',
  positionals: [
    { name: 'board', description: 'A SQLite file path or a postgres:// URL' },
    { name: 'id', description: 'The task id' },
  ],
  options: {},
  examples: ['kanban-db show board.db 01JD9ZK3M7Q8', 'kanban-db show board.db 01JD9ZK3M7Q8 --json | jq .runs'],
  async run(context) {
    const taskId = requiredArg(context, 'id')
    const view = await withBoard(context, 'read', async ({ board }) => {
      const task = await existingTask(board, taskId)
      const dependsOn = await board.db.selectFrom('task_dependencies').select('depends_on_id').where('task_id', '=', taskId).orderBy('depends_on_id').execute()
      const dependents = await board.db.selectFrom('task_dependencies').select('task_id').where('depends_on_id', '=', taskId).orderBy('task_id').execute()
      return {
        task,
        dependsOn: dependsOn.map((row) => row.depends_on_id),
        dependents: dependents.map((row) => row.task_id),
        runs: await board.runs(taskId),
        events: await board.events({ taskId, limit: 10_000 }),
        comments: await board.comments(taskId),
        attachments: await board.attachments(taskId),
      }
    })
    if (context.json) {
      writeJson(context.stdout, view)
      return EXIT.ok
    }
    const { task, color } = { task: view.task, color: context.color }
    const fields: [string, string][] = [
      ['id', task.id],
      ['title', task.title],
      ['status', paintStatus(task.status, color)],
      ['priority', String(task.priority)],
      ['assignee', task.assignee ?? '(any claimer)'],
      ['attempts', `${task.attempts} of ${task.maxAttempts}; ${task.consecutiveFailures} failure(s) in a row (max retries ${task.maxRetries ?? 'the board\'s'})`],
      ['created', `${formatTime(task.createdAt)}${task.createdBy ? ` by ${task.createdBy}` : ''}`],
      ['updated', formatTime(task.updatedAt)],
    ]
    if (task.tenant) fields.push(['tenant', task.tenant])
    if (task.claimedBy) fields.push(['claimed by', `${task.claimedBy} (pid ${task.workerPid ?? '?'} on ${task.workerHost ?? '?'}) until ${formatTime(task.claimExpiresAt)}`])
    if (task.blockReason) fields.push(['blocked', `${task.blockReason}${task.blockKind ? ` (${task.blockKind})` : ''}`])
    if (task.dueAt) fields.push(['due', formatTime(task.dueAt)])
    if (task.notBefore) fields.push(['not before', formatTime(task.notBefore)])
    if (task.lastError) fields.push(['last error', task.lastError.split('\n')[0]!])
    if (task.result !== null) fields.push(['result', formatJson(task.result, 200)])
    if (view.dependsOn.length > 0) fields.push(['depends on', view.dependsOn.join(', ')])
    if (view.dependents.length > 0) fields.push(['needed by', view.dependents.join(', ')])
    const sections = [renderFields(fields)]
    if (task.body) sections.push(`${color.bold('Body')}\n${task.body}`)
    if (view.runs.length > 0) {
      sections.push(
        `${color.bold('Runs')} (${view.runs.length})\n` +
          renderTable(
            [{ heading: '#', align: 'right' }, { heading: 'ROLE' }, { heading: 'WORKER', max: 30 }, { heading: 'STARTED' }, { heading: 'TOOK', align: 'right' }, { heading: 'OUTCOME' }, { heading: 'NOTE', max: 60 }],
            view.runs.map((run) => [
              String(run.attempt),
              run.role,
              `${run.workerId}@${run.host}:${run.pid}`,
              formatTime(run.startedAt),
              run.endedAt === null ? '-' : formatDuration(run.endedAt - run.startedAt),
              run.outcome ?? 'running',
              run.error ?? run.summary ?? '',
            ]),
          ),
      )
    }
    sections.push(`${color.bold('Events')} (${view.events.length})\n${eventTable(view.events, color, { showTask: false })}`)
    if (view.comments.length > 0) {
      sections.push(`${color.bold('Comments')} (${view.comments.length})\n${view.comments.map((comment) => `${formatTime(comment.createdAt)}  ${comment.author ?? "(no author)"}: ${comment.body}`).join('\n')}`)
    }
    if (view.attachments.length > 0) {
      sections.push(
        `${color.bold('Attachments')} (${view.attachments.length})\n` +
          renderTable(
            [{ heading: 'NAME', max: 40 }, { heading: 'TYPE' }, { heading: 'SIZE', align: 'right' }, { heading: 'URI', max: 80 }],
            view.attachments.map((attachment) => [attachment.name, attachment.mediaType ?? '-', attachment.sizeBytes === null ? '-' : String(attachment.sizeBytes), attachment.uri]),
          ),
      )
    }
    context.stdout.write(`${sections.join('\n\n')}\n`)
    return EXIT.ok
  },
}

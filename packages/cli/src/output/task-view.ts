import type { BoardEvent, Task, TaskStatus } from '@kanban-db/core'
import type { Palette } from './color.js'
import { formatJson, formatTime } from './format.js'
import { renderTable, type Column } from './table.js'

/** A status painted by what it asks of a person: red failed/blocked, yellow waiting, green done. */
export function paintStatus(status: TaskStatus | string, color: Palette, label: string = status): string {
  switch (status) {
    case 'failed':
    case 'blocked':
      return color.red(label)
    case 'triage':
    case 'review':
    case 'scheduled':
      return color.yellow(label)
    case 'running':
      return color.cyan(label)
    case 'done':
      return color.green(label)
    case 'archived':
      return color.dim(label)
    default:
      return label
  }
}

const TASK_COLUMNS: readonly Column[] = [
  { heading: 'ID' },
  { heading: 'PRI', align: 'right' },
  { heading: 'ASSIGNEE', max: 20 },
  { heading: 'TRIES', align: 'right' },
  { heading: 'UPDATED' },
  { heading: 'TITLE', max: 60 },
]

/** Tasks of one status as a table. */
export function taskTable(tasks: readonly Task[]): string {
  return renderTable(
    TASK_COLUMNS,
    tasks.map((task) => [task.id, String(task.priority), task.assignee ?? '-', `${task.attempts}/${task.maxAttempts}`, formatTime(task.updatedAt), task.title]),
  )
}

/** What changed, for an event: `ready -> running`, or `-` when the status stayed. */
export function transition(event: BoardEvent, color: Palette): string {
  if (event.fromStatus === event.toStatus || event.toStatus === null) return '-'
  return `${event.fromStatus ? paintStatus(event.fromStatus, color) : '(new)'} -> ${paintStatus(event.toStatus, color)}`
}

/** One event on one line (for `events --follow`, where rows arrive one at a time). */
export function eventLine(event: BoardEvent, color: Palette): string {
  return [color.dim(`#${event.id}`), formatTime(event.createdAt), event.taskId, color.bold(event.kind), transition(event, color), formatJson(event.payload, 100)].join('  ')
}

/** Events as a table. */
export function eventTable(events: readonly BoardEvent[], color: Palette, options: { readonly showTask?: boolean } = {}): string {
  const showTask = options.showTask ?? true
  const columns: Column[] = [{ heading: 'EVENT', align: 'right' }, { heading: 'TIME' }, ...(showTask ? [{ heading: 'TASK' }] : []), { heading: 'KIND' }, { heading: 'CHANGE' }, { heading: 'DETAIL', max: 80 }]
  return renderTable(
    columns,
    events.map((event) => [String(event.id), formatTime(event.createdAt), ...(showTask ? [event.taskId] : []), event.kind, transition(event, color), formatJson(event.payload, 80)]),
  )
}

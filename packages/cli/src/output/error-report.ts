import { KanbanDbError } from '@kanban-db/core'
import type { Palette } from './color.js'

/** What the command prints for an error: its kanban-db code, the message, and what to do. */
export interface ErrorReport {
  readonly code: string
  readonly message: string
  /** What to do about it, when the command knows more than the message says. */
  readonly action?: string
}

const ACTIONS: Readonly<Record<string, string>> = {
  BOARD_NOT_FOUND: 'Check the path or URL (and ?schema=); `kanban-db add --create` or `kanban-db import` makes a new board.',
  TASK_NOT_FOUND: '`kanban-db ls <board>` lists the tasks and their ids.',
  INVALID_TRANSITION: '`kanban-db show <board> <id>` shows the task\'s status and history.',
  BUSY: 'Another process held the board\'s write lock too long; try again, and `kanban-db doctor <board>` names who holds it.',
  LOCK_TIMEOUT: '`kanban-db doctor <board>` names the processes that hold the file.',
  CORRUPT: 'Stop the writers, then `kanban-db check <board>` and restore from a backup (`kanban-db backup` makes one).',
  NOT_A_DATABASE: 'The path names a file that is not a SQLite database; check the path.',
  SCHEMA_MISMATCH: 'The board was written by another kanban-db version; use the version that wrote it, or open it writable once to migrate it.',
  FOREIGN_DATABASE: 'The file is a SQLite database of another program. A Python agent gateway board moves over with `kanban-db import <kanban.db> <board>`.',
  CONNECTION_LOST: 'Check that the PostgreSQL server is up and reachable, then run the command again.',
  UNSUPPORTED_FILESYSTEM: 'Move the board to a local disk.',
}

/** The report for any thrown value: kanban-db errors by their code, anything else as `UNEXPECTED`. */
export function errorReport(error: unknown): ErrorReport {
  if (KanbanDbError.isKanbanDbError(error)) {
    const action = ACTIONS[error.code]
    return { code: error.code, message: error.message, ...(action ? { action } : {}) }
  }
  const message = error instanceof Error ? error.message : String(error)
  return { code: 'UNEXPECTED', message, action: 'This is a bug in kanban-db or a fault of the machine; run it again with NODE_DEBUG or report it with the stack below.' }
}

/** The report as lines for people: `error CODE: message`, then `action: ...`. */
export function formatErrorReport(report: ErrorReport, color: Palette): string {
  const lines = [`${color.red(color.bold('error'))} ${color.bold(report.code)}: ${report.message}`]
  if (report.action) lines.push(`${color.dim('action:')} ${report.action}`)
  return `${lines.join('\n')}\n`
}

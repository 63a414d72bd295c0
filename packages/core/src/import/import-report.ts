import type { TaskStatus } from '../board/transitions.js'

/** The tables an import reads (the Python board's names) and writes. */
export type ImportTable = 'tasks' | 'task_links' | 'task_comments' | 'task_events' | 'task_runs' | 'task_attachments' | 'kanban_notify_subs'

/** What happened to the rows of one source table. */
export interface TableCounts {
  /** Rows in the source. */
  source: number
  /** Rows written to the target by this import. */
  imported: number
  /** Rows a previous import of the same source had handled (written, or for events folded); nothing written now. */
  alreadyImported: number
  /** Rows not written, each listed in {@link ImportReport.dropped} with its reason. */
  dropped: number
  /**
   * Events only: source events with no kanban-db kind or transition from the status the history
   * had reached, kept verbatim in the payload of the task's preceding imported event
   * (`payload.imported.folded`) instead of an event of their own.
   */
  folded?: number
  /** Events only: events written to close a task's status chain the source history left open. */
  synthesized?: number
}

/** A row or field that did not reach the target, and why. */
export interface DroppedItem {
  readonly table: ImportTable
  /** The source row: its id, or its key columns. */
  readonly source: string
  /** The column, when only a field was dropped (the row itself was imported). */
  readonly field?: string
  /** The dropped value, so nothing is lost with the report. */
  readonly value?: unknown
  readonly reason: string
}

/** How the source's failure limits became kanban-db's (per task, `maxRetries` and `maxAttempts`). */
export interface LimitsMapping {
  /** The Python dispatcher's `kanban.failure_limit` that applied to tasks without their own (default 2). */
  readonly failureLimit: number
  /** kanban-db `maxRetries` = the consecutive failures at which the Python board gives up, minus one. */
  readonly rule: string
  /** `maxAttempts` written on every imported task (the Python board has no attempt cap). */
  readonly maxAttempts: number
  /** Tasks whose own `max_retries` was carried (the others got `failureLimit - 1`). */
  readonly tasksWithOwnLimit: number
}

/** Progress of a long import: rows done out of the source's rows, after each committed batch. */
export interface ImportProgress {
  readonly phase: 'tasks' | 'links' | 'subscriptions' | 'done'
  /** Source rows handled so far (imported, already imported or dropped). */
  readonly done: number
  /** Every source row the import reads. */
  readonly total: number
}

/** Everything an import did: what mapped to what, and what was dropped. */
export interface ImportReport {
  /** The source file. */
  readonly source: string
  /** The identity recorded on imported tasks (`meta.imported.source`); see `sourceIdentity`. */
  readonly sourceId: string
  /** Where it went (`board.location`). */
  readonly target: string
  readonly tables: Record<ImportTable, TableCounts>
  /** Each source status: how many tasks had it and the kanban-db status they got. */
  readonly statuses: Record<string, { count: number; to: Partial<Record<TaskStatus, number>> }>
  /** Python task id -> kanban-db task id, for every task imported now or before. */
  readonly taskIds: Record<string, string>
  /** Python subscription key -> kanban-db subscriber name and cursor. */
  readonly subscriptions: Record<string, { readonly subscriber: string; readonly cursor: number }>
  readonly limits: LimitsMapping
  readonly dropped: DroppedItem[]
  /** Facts a user moving over should know (semantics that differ). */
  readonly notes: string[]
  /** Rows written by this import, over every table: 0 for a repeated import of an unchanged source. */
  readonly written: number
}

export const IMPORT_TABLES: readonly ImportTable[] = ['tasks', 'task_links', 'task_comments', 'task_events', 'task_runs', 'task_attachments', 'kanban_notify_subs']

export function emptyCounts(): Record<ImportTable, TableCounts> {
  const counts = {} as Record<ImportTable, TableCounts>
  for (const table of IMPORT_TABLES) counts[table] = { source: 0, imported: 0, alreadyImported: 0, dropped: 0 }
  counts.task_events.folded = 0
  counts.task_events.synthesized = 0
  return counts
}

import type { SqliteAdapter } from '@kanban-db/core'
import { readRows } from './read-rows.js'

/** A function a conformance child process runs with the adapter it loaded. */
export type ChildTask = (adapter: SqliteAdapter, args: Record<string, unknown>) => Promise<unknown>

/** Every child task by name. */
export const childTasks: Readonly<Record<string, ChildTask>> = {
  'read-rows': readRows,
}

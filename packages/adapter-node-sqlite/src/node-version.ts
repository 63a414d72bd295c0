import { assertSupportedNode as assertNode } from '@kanban-db/core/adapter'

export { SUPPORTED_NODE } from '@kanban-db/core/adapter'

/**
 * Refuses a Node.js without `node:sqlite` before the module is asked for, with advice that works.
 */
export function assertSupportedNode(version?: string): void {
  assertNode({ adapter: '@kanban-db/adapter-node-sqlite', reason: 'it has no node:sqlite, and no other kanban-db SQLite adapter runs there either: better-sqlite3 13 crashes on it', ...(version === undefined ? {} : { version }) })
}

import { assertSupportedNode as assertNode } from '@kanban-db/core/adapter'

export { SUPPORTED_NODE } from '@kanban-db/core/adapter'

/**
 * Refuses an unsupported Node.js before better-sqlite3 is loaded: better-sqlite3 13 on Node 20 dies
 * with a segmentation fault at the first `new Database()`, with no message.
 */
export function assertSupportedNode(version?: string): void {
  assertNode({ adapter: '@kanban-db/adapter-better-sqlite3', reason: 'its driver, better-sqlite3 13, crashes the process on older Node.js', ...(version === undefined ? {} : { version }) })
}

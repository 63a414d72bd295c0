import { assertSupportedNode as assertNode } from '@kanban-db/core/adapter'

export { SUPPORTED_NODE } from '@kanban-db/core/adapter'

/**
 * Refuses an unsupported Node.js at `createAdapter()`, with advice that works, instead of a missing
 * `node:sqlite` at the first open.
 */
export function assertSupportedNode(version?: string): void {
  assertNode({ adapter: '@kanban-db/adapter-sql-js', reason: 'it has no node:sqlite, through which the adapter takes its cross-process lock', ...(version === undefined ? {} : { version }) })
}

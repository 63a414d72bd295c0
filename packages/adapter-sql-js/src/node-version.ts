import { UnsupportedRuntime } from '@kanban-db/core'

/** The Node.js versions this adapter runs on: its cross-process lock is taken through node:sqlite (22.13). */
export const SUPPORTED_NODE = '>=22.13.0'

/**
 * Refuses an unsupported Node.js at `createAdapter()`, with advice that works, instead of a missing
 * `node:sqlite` at the first open.
 */
export function assertSupportedNode(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 13)) return
  throw new UnsupportedRuntime(
    `@kanban-db/adapter-sql-js needs Node.js ${SUPPORTED_NODE} and this is Node.js ${version}, which has no node:sqlite ` +
      '(the adapter takes its cross-process lock through it; Node 20 reached its end of life in April 2026). ' +
      'Run on Node.js 22.13 or newer (Node 24 LTS recommended).',
    { details: { node: version, needs: SUPPORTED_NODE, adapter: '@kanban-db/adapter-sql-js' } },
  )
}

import { UnsupportedRuntime } from '@kanban-db/core'

/** The Node.js versions this adapter runs on: better-sqlite3 13 needs Node 22, core 22.13. */
export const SUPPORTED_NODE = '>=22.13.0'

/**
 * Refuses an unsupported Node.js before better-sqlite3 is loaded: better-sqlite3 13 on Node 20
 * dies with a segmentation fault at the first `new Database()`, with no message.
 */
export function assertSupportedNode(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 13)) return
  throw new UnsupportedRuntime(
    `@kanban-db/adapter-better-sqlite3 needs Node.js ${SUPPORTED_NODE} and this is Node.js ${version}: ` +
      'its driver, better-sqlite3 13, crashes the process on older Node.js (Node 20 reached its end of life in April 2026). ' +
      'Run on Node.js 22.13 or newer (Node 24 LTS recommended).',
    { details: { node: version, needs: SUPPORTED_NODE, adapter: '@kanban-db/adapter-better-sqlite3' } },
  )
}

import { UnsupportedRuntime } from '@kanban-db/core'

/** The Node.js versions this adapter runs on: node:sqlite is there without a flag from 22.13. */
export const SUPPORTED_NODE = '>=22.13.0'

/**
 * Refuses a Node.js without `node:sqlite` before the module is asked for, with advice that works:
 * no kanban-db SQLite adapter runs on older Node.js (better-sqlite3 13 crashes there).
 */
export function assertSupportedNode(version: string = process.versions.node): void {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 13)) return
  throw new UnsupportedRuntime(
    `@kanban-db/adapter-node-sqlite needs Node.js ${SUPPORTED_NODE} and this is Node.js ${version}, which has no node:sqlite ` +
      '(Node 20 reached its end of life in April 2026). Run on Node.js 22.13 or newer (Node 24 LTS recommended); ' +
      "no other kanban-db SQLite adapter runs on this Node.js either (better-sqlite3 13 crashes on it).",
    { details: { node: version, needs: SUPPORTED_NODE, adapter: '@kanban-db/adapter-node-sqlite' } },
  )
}

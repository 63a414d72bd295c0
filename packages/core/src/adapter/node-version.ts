import { UnsupportedRuntime } from '../errors/errors.js'

/** The Node.js versions kanban-db's SQLite adapters run on (node:sqlite without a flag; better-sqlite3 13). */
export const SUPPORTED_NODE = '>=22.13.0'

/** What {@link assertSupportedNode} says about one adapter. */
export interface NodeRequirement {
  /** The adapter's package name, for the message and `details.adapter`. */
  readonly adapter: string
  /** Why older Node.js cannot run it, one clause: "its driver, better-sqlite3 13, crashes the process on older Node.js". */
  readonly reason: string
  /** The version to judge. Default `process.versions.node`. */
  readonly version?: string
}

/**
 * Refuses a Node.js older than {@link SUPPORTED_NODE} with `UnsupportedRuntime`, before an adapter
 * touches its driver: better-sqlite3 13 on Node 20 dies with a segmentation fault at the first
 * `new Database()`, and node:sqlite is missing there. Call it first thing in `createAdapter()`.
 */
export function assertSupportedNode({ adapter, reason, version = process.versions.node }: NodeRequirement): void {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  if (major > 22 || (major === 22 && minor >= 13)) return
  throw new UnsupportedRuntime(
    `${adapter} needs Node.js ${SUPPORTED_NODE} and this is Node.js ${version}: ${reason} (Node 20 reached its end of life in April 2026). ` +
      'Run on Node.js 22.13 or newer (Node 24 LTS recommended).',
    { details: { node: version, needs: SUPPORTED_NODE, adapter } },
  )
}

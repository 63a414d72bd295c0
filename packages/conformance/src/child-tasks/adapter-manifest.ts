import type { SqliteAdapter } from '@kanban-db/core/adapter'

/** The adapter's identity and capabilities as a fresh process that loaded it by module name sees them. */
export async function adapterManifest(adapter: SqliteAdapter): Promise<unknown> {
  return { identity: adapter.identity, capabilities: adapter.capabilities, knownFailures: adapter.knownFailures ?? {} }
}

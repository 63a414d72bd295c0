import { missingCapabilities, type SqliteAdapter } from '@kanban-db/core'
import type { ConformanceCase } from './case.js'

/** What the planner decided for one case. */
export type Plan =
  | { readonly action: 'run'; readonly expectFailure?: string }
  | { readonly action: 'skip'; readonly reason: string }

/**
 * Decides whether `testCase` runs on `adapter`, and why not. Pure: the vitest front-end and the
 * CLI runner both ask it, so a skip reads the same everywhere.
 */
export function planCase(testCase: ConformanceCase, adapter: Pick<SqliteAdapter, 'capabilities' | 'knownFailures'>): Plan {
  const missing = missingCapabilities(adapter.capabilities, testCase.requires)
  if (missing.length > 0) {
    return { action: 'skip', reason: `adapter lacks ${missing.join(', ')}` }
  }
  const knownFailure = adapter.knownFailures?.[testCase.id]
  return knownFailure === undefined ? { action: 'run' } : { action: 'run', expectFailure: knownFailure }
}

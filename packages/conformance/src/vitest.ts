import { describe, it } from 'vitest'
import type { SqliteAdapter } from '@kanban-db/core'
import type { ConformanceCase } from './case.js'
import { allCases } from './cases/index.js'
import { planCase } from './planner.js'
import { runCase } from './runner.js'

/** Options for {@link registerConformance}. */
export interface RegisterOptions {
  /** Creates the adapter in the test process (usually the package's own `createAdapter`). */
  readonly createAdapter: () => Promise<SqliteAdapter>
  /** The adapter's module name, which child processes load. */
  readonly moduleName: string
  /** Restrict to these cases (default: every case but the `stress` tier). */
  readonly cases?: readonly ConformanceCase[]
}

/**
 * Registers the conformance suite for one adapter under vitest: one `it` per case, skipped with
 * the planner's reason where the adapter cannot run it. Call it from an adapter package's tests:
 *
 * ```ts
 * import { registerConformance } from '@kanban-db/conformance/vitest'
 * import createAdapter from '../src/index.js'
 * registerConformance({ createAdapter, moduleName: '@kanban-db/adapter-better-sqlite3' })
 * ```
 */
export async function registerConformance(options: RegisterOptions): Promise<void> {
  const adapter = await options.createAdapter()
  const cases = options.cases ?? allCases.filter((testCase) => testCase.tier !== 'stress')
  describe(`conformance: ${adapter.identity.name}`, () => {
    for (const testCase of cases) {
      const plan = planCase(testCase, adapter)
      if (plan.action === 'skip') {
        it.skip(`${testCase.id} (skip: ${plan.reason})`, () => {})
        continue
      }
      it(testCase.id, { timeout: testCase.timeoutMs + 5_000 }, async () => {
        const result = await runCase(testCase, adapter, options.moduleName)
        if (result.status === 'fail' || result.status === 'xpass') throw new Error(result.detail)
      })
    }
  })
}

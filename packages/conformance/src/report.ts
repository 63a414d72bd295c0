import type { EngineKind } from '@kanban-db/core/adapter'
import type { Tier } from './case.js'

/** How one case ended on one adapter. `xfail`: a known failure failed as expected; `xpass`: a known failure passed (fails the run). */
export type CaseStatus = 'pass' | 'fail' | 'skip' | 'xfail' | 'xpass'

/** One case's result on one adapter. */
export interface CaseResult {
  readonly id: string
  readonly tier: Tier
  readonly title: string
  readonly status: CaseStatus
  readonly ms: number
  /** Why it failed or was skipped, plus any notes the case wrote. */
  readonly detail: string
  /** The notes the case wrote (measurements, what the control showed), also part of `detail`. */
  readonly notes: readonly string[]
}

/** One subject's column of the matrix: a SQLite adapter, or the Postgres engine. */
export interface AdapterReport {
  readonly name: string
  readonly moduleName: string
  /** The engine (absent in reports of suites before Postgres: `sqlite`). */
  readonly engine?: EngineKind
  /** SQLite's version for an adapter, the server's (`15.14`) for Postgres; `?` when unknown (no server). */
  readonly engineVersion?: string
  /** The driver's version (`pg`'s for Postgres). */
  readonly driverVersion: string
  /** SQLite adapters only. */
  readonly sqliteVersion?: string
  readonly results: readonly CaseResult[]
}

/** What `kanban-conformance --json FILE` writes. */
export interface ConformanceReport {
  /** When the run started (ISO 8601). */
  readonly startedAt: string
  /** `process.version` of the runner. */
  readonly node: string
  readonly adapters: readonly AdapterReport[]
  /** True when no result is `fail` or `xpass` (the CLI's exit code is 0 exactly then). */
  readonly passed: boolean
}

/** True when no result is `fail` or `xpass`. */
export function reportPassed(report: Pick<ConformanceReport, 'adapters'>): boolean {
  return report.adapters.every((adapter) => adapter.results.every((result) => result.status !== 'fail' && result.status !== 'xpass'))
}

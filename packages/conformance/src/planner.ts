import { missingCapabilities, type Capabilities, type EngineKind } from '@kanban-db/core/adapter'
import { caseEngines, type ConformanceCase } from './case.js'

/** What the planner decided for one case. */
export type Plan =
  | { readonly action: 'run'; readonly expectFailure?: string }
  | { readonly action: 'skip'; readonly reason: string }

/**
 * What the planner needs to know about a subject. A `SqliteAdapter` is one as it is (engine
 * `sqlite`, its capabilities and known failures); `planTarget(subject)` makes one of any subject.
 */
export interface PlanTarget {
  /** Default `sqlite`. */
  readonly engine?: EngineKind
  /** A SQLite adapter's capabilities, checked against each case's `requires` (SQLite only). */
  readonly capabilities?: Capabilities
  readonly knownFailures?: Readonly<Record<string, string>>
  /** Set when no case can run on the subject (no PostgreSQL server): every case skips with it. */
  readonly unavailable?: string
}

/** What the person running the suite asked for, beside the subject's own facts. */
export interface PlanRequest {
  /** Case ids not to run (the CLI's `--skip`): each is reported as skipped by request, never hidden. */
  readonly skip?: readonly string[]
}

/** The skip reason of a case left out with `--skip` (or the `skip` option). */
export const SKIPPED_BY_REQUEST = 'skipped by request (--skip): not run here, so this column proves nothing about it'

/**
 * Decides whether `testCase` runs on the subject, and why not. Pure: the vitest front-end and the
 * CLI runner both ask it, so a skip reads the same everywhere. In order: a case the run was asked
 * to skip says so; a subject that cannot run
 * anything (no server) skips every case with its reason; a case that does not apply to the
 * subject's engine skips saying so; a SQLite adapter lacking a capability the case requires skips
 * naming it; a known failure runs expecting to fail.
 */
export function planCase(testCase: ConformanceCase, target: PlanTarget, request: PlanRequest = {}): Plan {
  const engine = target.engine ?? 'sqlite'
  if (request.skip?.includes(testCase.id)) return { action: 'skip', reason: SKIPPED_BY_REQUEST }
  if (target.unavailable !== undefined) return { action: 'skip', reason: target.unavailable }
  const engines = caseEngines(testCase)
  if (!engines.includes(engine)) return { action: 'skip', reason: notApplicable(engines, engine) }
  if (engine === 'sqlite') {
    const missing = target.capabilities === undefined ? [] : missingCapabilities(target.capabilities, testCase.requires)
    if (missing.length > 0) return { action: 'skip', reason: `adapter lacks ${missing.join(', ')}` }
  }
  const knownFailure = target.knownFailures?.[testCase.id]
  return knownFailure === undefined ? { action: 'run' } : { action: 'run', expectFailure: knownFailure }
}

/** Why a case of `engines` does not run on `engine`. */
export function notApplicable(engines: readonly EngineKind[], engine: EngineKind): string {
  if (engines.length === 1 && engines[0] === 'sqlite') return `tests SQLite's file and driver; not applicable to ${engine}`
  return `runs on ${engines.join(', ')} only; not applicable to ${engine}`
}

import { describe, it } from 'vitest'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { DEFAULT_TIERS, TIERS, type ConformanceCase, type Tier } from './case.js'
import { allCases } from './cases/index.js'
import { columnHeader } from './matrix.js'
import { planCase } from './planner.js'
import { runCase } from './runner.js'
import { planTarget, postgresSubject, sqliteSubject, subjectIdentity, type PostgresEngineFunction, type Subject } from './subject.js'

/** Options for {@link registerConformance}: a SQLite adapter's, or the Postgres engine's. */
export type RegisterOptions = SqliteRegisterOptions | PostgresRegisterOptions

/** Registers a SQLite adapter. */
export interface SqliteRegisterOptions extends CommonRegisterOptions {
  /** Creates the adapter in the test process (usually the package's own `createAdapter`). */
  readonly createAdapter: () => Promise<SqliteAdapter>
  /** The adapter's module name, which child processes and worker threads load. */
  readonly moduleName: string
}

/** Registers the Postgres engine: the Postgres column. */
export interface PostgresRegisterOptions extends CommonRegisterOptions {
  /** `postgres` of `@kanban-db/adapter-postgres`, in the test process (usually from `../src/index.js`). */
  readonly postgres: PostgresEngineFunction
  /** The engine package's module name, which children import `postgres` from. Default `@kanban-db/adapter-postgres`. */
  readonly moduleName?: string
  /**
   * The server. Default: the `KANBAN_DB_POSTGRES_URL` environment variable; without one every case
   * is registered as skipped with the reason.
   */
  readonly connectionString?: string
}

/** What both kinds of registration take. */
export interface CommonRegisterOptions {
  /**
   * Tiers to register (default: every tier but `stress`, or the comma-separated list in the
   * `KANBAN_CONFORMANCE_TIERS` environment variable, for example `core,stress`).
   */
  readonly tiers?: readonly Tier[]
  /** Restrict to these cases (default: every case of the selected tiers). */
  readonly cases?: readonly ConformanceCase[]
  /**
   * Case ids not to run (default: none, or the comma-separated list in `KANBAN_CONFORMANCE_SKIP`):
   * each is registered as skipped by request, with that reason in its name.
   */
  readonly skip?: readonly string[]
  /** Directory child processes resolve the subject's module from (default: the current directory). */
  readonly resolveFrom?: string
}

/**
 * Registers the conformance suite for one subject under vitest: one `it` per case. A case the
 * subject cannot run (another engine's, a capability the adapter lacks, no PostgreSQL server) is
 * registered as skipped, with the planner's reason in its name; a known failure passes when it
 * fails as expected and fails when it passes (xpass). Call it from an adapter package's tests:
 *
 * ```ts
 * import { registerConformance } from '@kanban-db/conformance/vitest'
 * import createAdapter from '../src/index.js'
 * await registerConformance({ createAdapter, moduleName: '@kanban-db/adapter-better-sqlite3' })
 * ```
 *
 * or, for the Postgres column (the server from `KANBAN_DB_POSTGRES_URL`):
 *
 * ```ts
 * import { postgres } from '../src/index.js'
 * await registerConformance({ postgres, moduleName: '@kanban-db/adapter-postgres' })
 * ```
 */
export async function registerConformance(options: RegisterOptions): Promise<void> {
  const subject: Subject =
    'postgres' in options
      ? await postgresSubject({
          postgres: options.postgres,
          ...(options.moduleName === undefined ? {} : { moduleName: options.moduleName }),
          ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
          ...(options.resolveFrom === undefined ? {} : { resolveFrom: options.resolveFrom }),
        })
      : sqliteSubject(await options.createAdapter(), options.moduleName)
  const tiers = options.tiers ?? tiersFromEnvironment()
  const cases = (options.cases ?? allCases).filter((testCase) => tiers.includes(testCase.tier))
  const target = planTarget(subject)
  const skip = options.skip ?? listFromEnvironment('KANBAN_CONFORMANCE_SKIP')
  const title = subject.engine === 'sqlite' ? subject.name : columnHeader(subjectIdentity(subject))
  describe(`conformance: ${title}`, () => {
    for (const testCase of cases) {
      const plan = planCase(testCase, target, { skip })
      if (plan.action === 'skip') {
        it.skip(`${testCase.id} (skip: ${plan.reason})`, () => {})
        continue
      }
      const name = plan.expectFailure === undefined ? testCase.id : `${testCase.id} (known failure: ${plan.expectFailure})`
      it(name, { timeout: testCase.timeoutMs + 15_000 }, async (context) => {
        const result = await runCase(testCase, subject, options.resolveFrom === undefined ? {} : { resolveFrom: options.resolveFrom })
        if (result.status === 'fail' || result.status === 'xpass') throw new Error(result.detail)
        // A case that found at run time it cannot apply here is reported as skipped, with why.
        if (result.status === 'skip') context.skip(result.detail)
      })
    }
  })
}

function listFromEnvironment(name: string): string[] {
  return (process.env[name] ?? '').split(',').map((item) => item.trim()).filter(Boolean)
}

function tiersFromEnvironment(): readonly Tier[] {
  const listed = process.env.KANBAN_CONFORMANCE_TIERS
  if (!listed) return DEFAULT_TIERS
  const tiers = listed.split(',').map((tier) => tier.trim()) as Tier[]
  const unknown = tiers.find((tier) => !TIERS.includes(tier))
  if (unknown) throw new Error(`KANBAN_CONFORMANCE_TIERS names an unknown tier '${unknown}'. Tiers: ${TIERS.join(', ')}.`)
  return tiers
}

import { type BoardEngineFactory, type EngineKind, type SqliteAdapter } from '@kanban-db/core/adapter'
import { loadAdapter } from '@kanban-db/core/internal'
import { postgresEngineOf } from './board-spec.js'
import { importModule } from './import-module.js'
import type { PlanTarget } from './planner.js'
import { pgVersion, serverVersion, withPostgres } from './postgres-session.js'

/**
 * What `postgres` of `@kanban-db/adapter-postgres` is: given a server and a schema, the engine
 * factory `openBoard({ engine })` takes.
 */
export type PostgresEngineFunction = (config: { readonly connectionString: string; readonly schema?: string }) => BoardEngineFactory

/** A SQLite driver adapter under test (loaded by module name in children). */
export interface SqliteSubject {
  readonly engine: 'sqlite'
  /** The adapter's short name (its column in the matrix). */
  readonly name: string
  readonly moduleName: string
  readonly adapter: SqliteAdapter
}

/** The Postgres engine under test, on one server (or none: then every case skips, saying why). */
export interface PostgresSubject {
  readonly engine: 'postgres'
  /** `postgres` (its column in the matrix). */
  readonly name: string
  /** `@kanban-db/adapter-postgres`: what children import the engine from. */
  readonly moduleName: string
  /** The directory children (and the suite's own `pg`) resolve `moduleName` from. */
  readonly resolveFrom: string
  /** The engine function of this process's copy of the package. */
  readonly postgres: PostgresEngineFunction
  /** The server (`KANBAN_DB_POSTGRES_URL` or `--postgres-url`); undefined: none was given. */
  readonly connectionString: string | undefined
  /** `SHOW server_version` (`15.14`), when there is a server. */
  readonly serverVersion: string | undefined
  /** The version of the `pg` driver the engine package uses. */
  readonly driverVersion: string
  /** Set when no case can run: why (no server). Every case is then `skip` with this reason. */
  readonly unavailable: string | undefined
}

/** What a conformance run tests: a SQLite adapter or the Postgres engine. */
export type Subject = SqliteSubject | PostgresSubject

/** The environment variable that names the PostgreSQL server the Postgres column runs on. */
export const POSTGRES_URL_ENV = 'KANBAN_DB_POSTGRES_URL'

/** Why every case of the Postgres column skips when no server was given. */
export const NO_POSTGRES_SERVER = `no PostgreSQL server: set ${POSTGRES_URL_ENV} (./dev conformance starts a throwaway one)`

/** The Postgres engine package's module name. */
export const POSTGRES_MODULE = '@kanban-db/adapter-postgres'

/** The server a Postgres subject was given did not answer: every case of its column fails with this. */
export class ServerUnreachable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ServerUnreachable'
  }
}

/** A SQLite adapter as a subject. */
export function sqliteSubject(adapter: SqliteAdapter, moduleName: string): SqliteSubject {
  return { engine: 'sqlite', name: adapter.identity.name, moduleName, adapter }
}

/** Options for {@link postgresSubject}. */
export interface PostgresSubjectOptions {
  /** `postgres` from `@kanban-db/adapter-postgres` (in this process). */
  readonly postgres: PostgresEngineFunction
  /** Default `@kanban-db/adapter-postgres`. */
  readonly moduleName?: string
  /** The server; default the `KANBAN_DB_POSTGRES_URL` environment variable. Empty counts as none. */
  readonly connectionString?: string
  /** Where children resolve `moduleName` from (default: the current directory). */
  readonly resolveFrom?: string
}

/**
 * The Postgres engine as a subject. Without a server it is still a subject, one whose every case
 * skips with {@link NO_POSTGRES_SERVER}; with one, the server is asked its version here, so a server
 * that does not answer fails now with the reason rather than once per case.
 */
export async function postgresSubject(options: PostgresSubjectOptions): Promise<PostgresSubject> {
  const moduleName = options.moduleName ?? POSTGRES_MODULE
  const resolveFrom = options.resolveFrom ?? process.cwd()
  const url = options.connectionString ?? process.env[POSTGRES_URL_ENV]
  const connectionString = url === undefined || url.trim() === '' ? undefined : url.trim()
  const engine = { moduleName, resolveFrom }
  let driverVersion = '?'
  try {
    driverVersion = pgVersion(engine)
  } catch {
    // Reported as '?'; the first query says what is wrong.
  }
  const base = { engine: 'postgres' as const, name: 'postgres', moduleName, resolveFrom, postgres: options.postgres, driverVersion }
  if (connectionString === undefined) return { ...base, connectionString, serverVersion: undefined, unavailable: NO_POSTGRES_SERVER }
  let version: string
  try {
    version = await withPostgres(connectionString, engine, serverVersion)
  } catch (error) {
    throw new ServerUnreachable(`the PostgreSQL server did not answer (${error instanceof Error ? error.message : String(error)})`, { cause: error })
  }
  return { ...base, connectionString, serverVersion: version, unavailable: undefined }
}

/**
 * Loads the subject a CLI `--adapters` entry names: a module exporting an engine function
 * `postgres` (`@kanban-db/adapter-postgres`) is the Postgres engine on `postgresUrl`; any other
 * module is a SQLite adapter, loaded through its default factory as a child loads it.
 */
export async function loadSubject(moduleName: string, options: { readonly resolveFrom?: string; readonly postgresUrl?: string } = {}): Promise<Subject> {
  const resolveFrom = options.resolveFrom ?? process.cwd()
  const postgres = postgresEngineOf(await importModule(moduleName, resolveFrom))
  if (postgres !== undefined) {
    return postgresSubject({
      postgres,
      moduleName,
      resolveFrom,
      ...(options.postgresUrl === undefined ? {} : { connectionString: options.postgresUrl }),
    })
  }
  return sqliteSubject(await loadAdapter(moduleName, resolveFrom), moduleName)
}

/** What a subject's column of the report says about it. */
export interface SubjectIdentity {
  readonly name: string
  readonly moduleName: string
  readonly engine: EngineKind
  /** SQLite's version for a SQLite adapter, the server's for Postgres (`?` without a server). */
  readonly engineVersion: string
  readonly driverVersion: string
  /** SQLite adapters only. */
  readonly sqliteVersion?: string
}

/** The identity a report shows for `subject`. */
export function subjectIdentity(subject: Subject): SubjectIdentity {
  if (subject.engine === 'sqlite') {
    const { name, driverVersion, sqliteVersion } = subject.adapter.identity
    return { name, moduleName: subject.moduleName, engine: 'sqlite', engineVersion: sqliteVersion, driverVersion, sqliteVersion }
  }
  return { name: subject.name, moduleName: subject.moduleName, engine: 'postgres', engineVersion: subject.serverVersion ?? '?', driverVersion: subject.driverVersion }
}

/** What the planner needs to know about `subject`. */
export function planTarget(subject: Subject): PlanTarget {
  return subject.engine === 'sqlite'
    ? { engine: 'sqlite', capabilities: subject.adapter.capabilities, knownFailures: subject.adapter.knownFailures }
    : { engine: 'postgres', unavailable: subject.unavailable }
}

/** `target` as a subject: a subject as it is, a SQLite adapter with its module name. */
export function asSubject(target: Subject | SqliteAdapter, moduleName: string | undefined): Subject {
  if (typeof (target as Partial<Subject>).engine === 'string') return target as Subject
  if (moduleName === undefined) throw new Error('a SQLite adapter needs its module name (children load it by name)')
  return sqliteSubject(target as SqliteAdapter, moduleName)
}

import { requireFromPackage } from './import-module.js'

/** Where the Postgres engine package is, so its own `pg` can be found (see {@link connectPostgres}). */
export interface EnginePackage {
  /** The engine's module name, `@kanban-db/adapter-postgres`. */
  readonly moduleName: string
  /** The directory it resolves from. */
  readonly resolveFrom: string
}

/** One plain connection to a Postgres server, for the suite's own SQL (never the board's). */
export interface PostgresSession {
  /** Runs one statement; its rows. */
  query<R = Record<string, unknown>>(sql: string, parameters?: readonly unknown[]): Promise<R[]>
  /** Closes the connection. Twice is a no-op. */
  end(): Promise<void>
}

interface PgClient {
  connect(): Promise<void>
  query(sql: string, parameters?: readonly unknown[]): Promise<{ rows: unknown[] }>
  end(): Promise<void>
  on(event: 'error', listener: (error: Error) => void): void
}
interface PgModule {
  Client: new (config: { connectionString: string; application_name?: string }) => PgClient
}

function loadPg(engine: EnginePackage): { pg: PgModule; version: string } {
  const require = requireFromPackage(engine.moduleName, engine.resolveFrom)
  if (require === undefined) throw new Error(`cannot resolve ${engine.moduleName} from ${engine.resolveFrom}`)
  const pg = require('pg') as PgModule & { default?: PgModule }
  const version = (require('pg/package.json') as { version: string }).version
  return { pg: pg.Client === undefined && pg.default !== undefined ? pg.default : pg, version }
}

/** The version of the `pg` driver the engine package uses. */
export function pgVersion(engine: EnginePackage): string {
  return loadPg(engine).version
}

/**
 * Connects to the server at `connectionString` through the `pg` that the engine package depends on
 * (the suite adds no dependency of its own). The runner uses it to read the server's version and to
 * drop each case's schema; the Postgres forms of a few cases use it to look at the server directly.
 */
export async function connectPostgres(connectionString: string, engine: EnginePackage): Promise<PostgresSession> {
  const { pg } = loadPg(engine)
  const client = new pg.Client({ connectionString, application_name: 'kanban-conformance' })
  // A connection the server ends (a restart, a terminated backend) must not crash the process.
  client.on('error', () => {})
  await client.connect()
  let ended = false
  return {
    query: async <R>(sql: string, parameters: readonly unknown[] = []) => (await client.query(sql, parameters)).rows as R[],
    end: async () => {
      if (ended) return
      ended = true
      await client.end().catch(() => {})
    },
  }
}

/** Runs `fn` with a fresh session and always closes it. */
export async function withPostgres<T>(connectionString: string, engine: EnginePackage, fn: (session: PostgresSession) => Promise<T>): Promise<T> {
  const session = await connectPostgres(connectionString, engine)
  try {
    return await fn(session)
  } finally {
    await session.end()
  }
}

/** The server's version as people write it (`15.14`), from `server_version`. */
export async function serverVersion(session: PostgresSession): Promise<string> {
  const [row] = await session.query<{ server_version: string }>('SHOW server_version')
  return (row?.server_version ?? '?').split(' ')[0]!
}

/** What a case's schema is called: `c_` and 16 random lower-case letters and digits. */
export const CASE_SCHEMA_PATTERN = /^c_[a-z0-9]{16}$/

/** A fresh name for a case's schema. */
export function caseSchemaName(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  let name = 'c_'
  for (let index = 0; index < 16; index++) name += alphabet[Math.floor(Math.random() * alphabet.length)]
  return name
}

/**
 * Drops a case's schema and everything in it. Only names of {@link CASE_SCHEMA_PATTERN} are
 * dropped (never a board someone else owns); a lock still held on one of its tables after the case
 * (a session the engine failed to end) makes the drop fail after 60 s instead of hanging.
 */
export async function dropCaseSchema(session: PostgresSession, schema: string): Promise<void> {
  if (!CASE_SCHEMA_PATTERN.test(schema)) throw new Error(`refusing to drop '${schema}': not a conformance case schema`)
  await session.query("SET lock_timeout = '60s'")
  await session.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
}

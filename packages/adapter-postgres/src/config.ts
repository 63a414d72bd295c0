import type pg from 'pg'
import { InvalidInput } from '@kanban-db/core'
import { DEFAULT_SCHEMA, requireSchemaName } from './board-names.js'
import type { PgliteInstance } from './pglite/pglite-instance.js'

/** How to reach a PostgreSQL server for `postgres(config)`. Every field is optional. */
export interface PostgresEngineConfig {
  /**
   * A `postgresql://` URL (node-postgres's syntax; `?host=/socket/dir` for a unix socket). Without
   * it, `pool` and the usual `PG*` environment variables say where the server is.
   */
  readonly connectionString?: string
  /** node-postgres pool options (host, user, password, ssl, ...). `max` gives way to `poolSize`. */
  readonly pool?: pg.PoolConfig
  /** The schema the board's tables live in (created when missing). Default `kanban`. */
  readonly schema?: string
  /** Connections of the main pool (reads and writes). Default 10; heartbeats get 2 more of their own. */
  readonly poolSize?: number
  /** The server's `statement_timeout` for the board's connections, in ms; 0 or absent: none. */
  readonly statementTimeoutMs?: number
}

/** How to open a board on PGlite (Postgres in WebAssembly, in this process) for `pglite(config)`. */
export interface PgliteEngineConfig {
  /** A directory for PGlite's files; absent (and no `pglite`): a database in memory. */
  readonly dataDir?: string
  /**
   * An open PGlite instance to use instead (the caller keeps owning it: closing the board does not
   * close it). Its session's `search_path` is set to the board's schema.
   */
  readonly pglite?: PgliteInstance
  /** The schema the board's tables live in (created when missing). Default `kanban`. */
  readonly schema?: string
}

/** {@link PostgresEngineConfig} checked, with defaults applied. */
export interface ResolvedPostgresConfig {
  readonly connectionString: string | undefined
  readonly pool: pg.PoolConfig
  readonly schema: string
  readonly poolSize: number
  readonly statementTimeoutMs: number | undefined
}

/** {@link PgliteEngineConfig} checked, with defaults applied. */
export interface ResolvedPgliteConfig {
  readonly dataDir: string | undefined
  readonly pglite: PgliteInstance | undefined
  readonly schema: string
}

/** The main pool's size when the config names none. */
export const DEFAULT_POOL_SIZE = 10

/** Checks a `postgres()` config (throwing `InvalidInput` that says what to change) and applies defaults. */
export function resolvePostgresConfig(config: PostgresEngineConfig = {}): ResolvedPostgresConfig {
  requireObject('config', config, 'an object such as { connectionString }')
  const { connectionString, pool, poolSize, statementTimeoutMs } = config
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString.length === 0)) {
    // The value itself is never echoed: a connection string can hold a password.
    throw invalid('connectionString', `expected a non-empty postgresql:// URL, got ${connectionString === '' ? 'an empty string' : typeof connectionString}`, undefined)
  }
  if (pool !== undefined) requireObject('pool', pool, 'node-postgres pool options (an object)')
  if (poolSize !== undefined && (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000)) {
    throw invalid('poolSize', 'expected a whole number of connections between 1 and 1000', poolSize)
  }
  if (statementTimeoutMs !== undefined && (!Number.isInteger(statementTimeoutMs) || statementTimeoutMs < 0)) {
    throw invalid('statementTimeoutMs', 'expected a whole number of milliseconds >= 0 (0: no timeout)', statementTimeoutMs)
  }
  const poolMax = pool?.max
  return {
    connectionString: connectionString ?? pool?.connectionString,
    pool: { ...pool },
    schema: requireSchemaName(config.schema ?? DEFAULT_SCHEMA),
    poolSize: poolSize ?? (Number.isInteger(poolMax) && poolMax! >= 1 ? poolMax! : DEFAULT_POOL_SIZE),
    statementTimeoutMs: statementTimeoutMs === 0 ? undefined : statementTimeoutMs,
  }
}

/** Checks a `pglite()` config (throwing `InvalidInput` that says what to change) and applies defaults. */
export function resolvePgliteConfig(config: PgliteEngineConfig = {}): ResolvedPgliteConfig {
  requireObject('config', config, 'an object such as { dataDir }')
  const { dataDir, pglite } = config
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir.length === 0)) {
    throw invalid('dataDir', 'expected a directory path', dataDir)
  }
  if (pglite !== undefined) {
    const candidate = pglite as unknown as Record<string, unknown>
    if (typeof candidate !== 'object' || candidate === null || typeof candidate['query'] !== 'function' || typeof candidate['transaction'] !== 'function') {
      throw invalid('pglite', 'expected a PGlite instance (new PGlite() from @electric-sql/pglite)', undefined)
    }
    if (dataDir !== undefined) {
      throw invalid('pglite', 'give either dataDir or an open pglite instance, not both (the instance already has its own data directory)', undefined)
    }
  }
  return { dataDir, pglite, schema: requireSchemaName(config.schema ?? DEFAULT_SCHEMA) }
}

function invalid(field: string, problem: string, value: unknown): InvalidInput {
  const shown = value === undefined ? '' : `, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`
  return new InvalidInput(`Invalid ${field}: ${problem}${shown}. Nothing was opened.`, { details: { field } })
}

function requireObject(field: string, value: unknown, expected: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, `expected ${expected}`, value)
}

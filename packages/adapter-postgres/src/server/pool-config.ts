import pg from 'pg'
import type { ResolvedPostgresConfig } from '../config.js'
import { numberTypes } from '../number-types.js'

/** `application_name` of the board's connections unless the config names one (find them in pg_stat_activity). */
export const DEFAULT_APPLICATION_NAME = 'kanban-db'

/**
 * node-postgres options shared by every connection of one board: the server runs them in the
 * board's schema (`-c search_path=...` in the startup options, so no extra round trip and no
 * connection can miss it), read-only ones with `default_transaction_read_only`, bigints and numerics
 * are parsed as numbers by this pool only, and `statement_timeout` is the config's.
 *
 * `idle_in_transaction_session_timeout` is the server's backstop for a client that stops in the
 * middle of a transaction (frozen with SIGSTOP, paused in a debugger, cut off by the network): the
 * write path's own timeout cannot fire in a process that does not run, and its row locks would hold
 * claims, reclaims and completions of those tasks back for as long as it stays frozen. The server
 * ends such a session `idleInTransactionMs` after its last statement (rolling it back), so the
 * locks are freed and the board recovers the task like any other expired claim.
 *
 * A connection string's own `options` parameter would replace the startup options (node-postgres
 * lets the URL win over the config), so it is taken out of the URL and merged here.
 */
export function boardPoolConfig(config: ResolvedPostgresConfig, readonly: boolean, idleInTransactionMs: number): pg.PoolConfig {
  const { connectionString, fromUrl } = takeOptionsFromUrl(config.connectionString)
  const settings = [`-c search_path=${config.schema}`]
  if (readonly) settings.push('-c default_transaction_read_only=on')
  const options = [config.pool.options, fromUrl, ...settings].filter((part) => part !== undefined && part !== '').join(' ')
  return {
    ...config.pool,
    connectionString,
    options,
    types: numberTypes(config.pool.types),
    application_name: config.pool.application_name ?? DEFAULT_APPLICATION_NAME,
    statement_timeout: config.statementTimeoutMs ?? config.pool.statement_timeout,
    idle_in_transaction_session_timeout: config.pool.idle_in_transaction_session_timeout ?? idleInTransactionMs,
  }
}

/** The URL without its `options` parameter, and that parameter. Strings that are not URLs pass unchanged. */
function takeOptionsFromUrl(connectionString: string | undefined): { connectionString: string | undefined; fromUrl: string | undefined } {
  if (connectionString === undefined) return { connectionString, fromUrl: undefined }
  let url: URL
  try {
    url = new URL(connectionString)
  } catch {
    return { connectionString, fromUrl: undefined }
  }
  const fromUrl = url.searchParams.get('options')
  if (fromUrl === null) return { connectionString, fromUrl: undefined }
  url.searchParams.delete('options')
  return { connectionString: url.toString(), fromUrl }
}

/**
 * A pool for the board. Every client gets an `error` listener for its whole life: node-postgres
 * emits `error` on a checked-out client whose connection breaks (a terminated backend, a server
 * restart), and an unheard `error` event would crash the process; the statement in flight is
 * rejected with the same error anyway, and the write path discards the client. The pool's own
 * `error` (an idle client broke) is heard for the same reason; the pool drops that client.
 */
export function createBoardPool(config: pg.PoolConfig, max: number): pg.Pool {
  const pool = new pg.Pool({ ...config, max })
  pool.on('connect', (client) => {
    client.on('error', ignoreConnectionError)
  })
  pool.on('error', ignoreConnectionError)
  return pool
}

function ignoreConnectionError(): void {
  // Reported to whoever uses the connection next, as ConnectionLost; see createBoardPool.
}

/**
 * Where the board is, for messages and health: server (host or socket directory, and port),
 * database and schema, resolved as node-postgres resolves them (URL, config, PG* variables). Never
 * the user's password, and not the user either.
 */
export function describeServerLocation(config: pg.PoolConfig, schema: string): string {
  // A Client resolves its parameters in its constructor and connects nothing until connect().
  const probe = new pg.Client(config)
  return `postgres ${probe.host}:${probe.port}/${probe.database ?? ''} schema ${schema}`
}

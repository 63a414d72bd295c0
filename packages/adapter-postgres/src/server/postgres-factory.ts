import type pg from 'pg'
import { Kysely, PostgresDialect } from 'kysely'
import {
  WakeListeners, type BoardEngine, type BoardEngineFactory, type BoardSchema, type EngineOpenOptions,
} from '@kanban-db/core/adapter'
import { wakeChannel } from '../board-names.js'
import { classifyPostgresError } from '../classify.js'
import { resolvePostgresConfig, type PostgresEngineConfig, type ResolvedPostgresConfig } from '../config.js'
import { PostgresBoardEngine, postgresWriteOptions } from '../engine.js'
import { checkBoardSchema, migrateBoardSchema, type MigrationConnection, type MigrationTarget } from '../schema/migrate.js'
import { WritePath } from '../write/write-path.js'
import { AdvisoryLocks } from './advisory-lock.js'
import { boardPoolConfig, createBoardPool, describeServerLocation } from './pool-config.js'
import { PoolTransactions } from './pool-transactions.js'
import { WakeListener } from './wake-listener.js'

/** How long past `transactionTimeoutMs` the server waits on a transaction whose client went silent. */
export const IDLE_IN_TRANSACTION_GRACE_MS = 10_000

/** Named locks one engine may hold at once (each holds a session of its own, opened when taken). */
export const LOCK_SESSIONS = 8

/** Connections reserved for `{ priority: true }` writes (heartbeats), beside the main pool. */
export const PRIORITY_POOL_SIZE = 2

/**
 * The board on a PostgreSQL server, through node-postgres: `openBoard({ engine: postgres({ connectionString }) })`.
 * Writers in any number of processes and hosts run at once; the server's clock is the board's;
 * claimers hear about ready tasks across processes (LISTEN/NOTIFY). Throws `InvalidInput` at once
 * for a bad config; opening creates or migrates the board's schema (unless read-only).
 */
export function postgres(config: PostgresEngineConfig = {}): BoardEngineFactory {
  const resolved = resolvePostgresConfig(config)
  return { kind: 'postgres', open: (options) => openServerEngine(resolved, options) }
}

async function openServerEngine(config: ResolvedPostgresConfig, options: EngineOpenOptions | undefined): Promise<BoardEngine> {
  const readonly = options?.readonly ?? false
  const writeOptions = postgresWriteOptions(options?.write)
  // A transaction idle this long has a client that stopped running (see boardPoolConfig): past the
  // write path's own timeout, with room for one slow statement.
  const poolConfig = boardPoolConfig(config, readonly, writeOptions.transactionTimeoutMs + IDLE_IN_TRANSACTION_GRACE_MS)
  const location = describeServerLocation(poolConfig, config.schema)
  const main = createBoardPool(poolConfig, config.poolSize)
  const priority = createBoardPool(poolConfig, PRIORITY_POOL_SIZE)
  // A held named lock keeps its session: those sessions come from a pool of their own, so holding
  // locks never takes a connection the board's reads and writes need.
  const lockSessions = createBoardPool(poolConfig, LOCK_SESSIONS)
  const endPools = async (): Promise<void> => {
    await Promise.allSettled([main, priority, lockSessions].filter((pool) => !pool.ending).map((pool) => pool.end()))
  }

  let serverVersion: string
  try {
    await prepareBoard(main, { schema: config.schema, location }, readonly)
    serverVersion = (await main.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version
  } catch (error) {
    await endPools()
    throw classifyPostgresError(error, `opening the board in ${location}`)
  }

  const db = new Kysely<BoardSchema>({ dialect: new PostgresDialect({ pool: main }) })
  const wakeListeners = new WakeListeners()
  const listener = new WakeListener(poolConfig, wakeChannel(config.schema), () => wakeListeners.notify())
  const locks = new AdvisoryLocks(lockSessions, config.schema)
  const writes = new WritePath(new PoolTransactions(main, priority), writeOptions, readonly)
  const poolFacts = (pool: pg.Pool) => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount })

  return new PostgresBoardEngine({
    location,
    schema: config.schema,
    readonly,
    capabilities: Object.freeze({ concurrentWriters: true, serverClock: true, crossProcessWakeups: true }),
    db,
    writeOptions,
    writes,
    wakeListeners,
    startWakeups: () => listener.start(),
    tryLock: (name) => locks.tryLock(name),
    health: async () => ({
      serverVersion,
      pool: poolFacts(main),
      priorityPool: poolFacts(priority),
      listening: listener.listening,
      writesRunning: writes.running,
    }),
    shutdown: async () => {
      await listener.close()
      await locks.releaseAll()
      // Kysely ends the main pool only if it ever used it; endPools ends what is still open.
      await db.destroy()
      await endPools()
    },
  })
}

/**
 * Creates, migrates or (read-only) checks the board on one connection of the pool, which the
 * migration's session lock needs; the connection is discarded if anything failed on it.
 */
async function prepareBoard(pool: pg.Pool, target: MigrationTarget, readonly: boolean): Promise<void> {
  const client = await pool.connect()
  const connection: MigrationConnection = {
    query: async <R>(text: string, parameters?: readonly unknown[]) => (await client.query(text, parameters as unknown[])).rows as R[],
    exec: async (script) => {
      await client.query(script)
    },
  }
  try {
    await (readonly ? checkBoardSchema(connection, target) : migrateBoardSchema(connection, target))
  } catch (error) {
    client.release(error instanceof Error ? error : true)
    throw error
  }
  client.release()
}

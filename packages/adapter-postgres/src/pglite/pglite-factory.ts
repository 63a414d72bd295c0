import { Kysely, PGliteDialect } from 'kysely'
import { NotSupported } from '@kanban-db/core'
import {
  WakeListeners, type BoardEngine, type BoardEngineFactory, type BoardSchema, type EngineOpenOptions,
} from '@kanban-db/core/adapter'
import { quoteIdentifier, wakeChannel } from '../board-names.js'
import { classifyPostgresError } from '../classify.js'
import { resolvePgliteConfig, type PgliteEngineConfig, type ResolvedPgliteConfig } from '../config.js'
import { PostgresBoardEngine, postgresWriteOptions } from '../engine.js'
import { pgliteNumberParsers } from '../number-types.js'
import { checkBoardSchema, migrateBoardSchema, type MigrationConnection } from '../schema/migrate.js'
import { WritePath } from '../write/write-path.js'
import { InProcessLocks } from './in-process-locks.js'
import { pgliteForKysely } from './kysely-pglite.js'
import type { PgliteInstance } from './pglite-instance.js'
import { PgliteTransactions } from './pglite-transactions.js'

/**
 * The board on PGlite, Postgres compiled to WebAssembly and run inside this process:
 * `openBoard({ engine: pglite({ dataDir }) })` (or in memory with no `dataDir`). The board's SQL is
 * the server engine's; what differs is that there is one session in one process, so writes take
 * turns in-process and wake-ups reach this process only. Needs `@electric-sql/pglite` installed
 * (unless an instance is passed). Throws `InvalidInput` at once for a bad config.
 *
 * A PGlite instance passed in is shared with its owner: the board sets its session's `search_path`
 * to the board's schema, and closing the board leaves the instance open. Run one board per instance.
 */
export function pglite(config: PgliteEngineConfig = {}): BoardEngineFactory {
  const resolved = resolvePgliteConfig(config)
  return { kind: 'postgres', open: (options) => openPgliteEngine(resolved, options) }
}

async function openPgliteEngine(config: ResolvedPgliteConfig, options: EngineOpenOptions | undefined): Promise<BoardEngine> {
  const readonly = options?.readonly ?? false
  const writeOptions = postgresWriteOptions(options?.write)
  const owned = config.pglite === undefined
  const location = `pglite ${config.dataDir ?? (owned ? 'memory' : 'instance')} schema ${config.schema}`
  const instance = config.pglite ?? (await createPglite(config.dataDir))

  let serverVersion: string
  try {
    await instance.waitReady
    const connection: MigrationConnection = {
      query: async <R>(text: string, parameters?: readonly unknown[]) =>
        (await instance.query<R>(text, parameters as unknown[] | undefined, { parsers: { ...pgliteNumberParsers } })).rows,
      exec: async (script) => {
        await instance.exec(script)
      },
    }
    const target = { schema: config.schema, location }
    await (readonly ? checkBoardSchema(connection, target) : migrateBoardSchema(connection, target))
    // The instance's one session runs in the board's schema from now on.
    await instance.exec(`SET search_path TO ${quoteIdentifier(config.schema)}`)
    // Read-only: only when the instance is the engine's own, since the setting is the session's.
    if (readonly && owned) await instance.exec('SET default_transaction_read_only = on')
    serverVersion = (await instance.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version
  } catch (error) {
    if (owned && !instance.closed) await instance.close().catch(() => {})
    throw classifyPostgresError(error, `opening the board in ${location}`)
  }

  const db = new Kysely<BoardSchema>({ dialect: new PGliteDialect({ pglite: pgliteForKysely(instance, owned) }) })
  const wakeListeners = new WakeListeners()
  const locks = new InProcessLocks(instance, config.schema)
  const writes = new WritePath(new PgliteTransactions(instance), writeOptions, readonly)
  let listening: Promise<(() => Promise<void>) | undefined> | undefined

  return new PostgresBoardEngine({
    location,
    schema: config.schema,
    readonly,
    capabilities: Object.freeze({ concurrentWriters: false, serverClock: true, crossProcessWakeups: false }),
    db,
    writeOptions,
    writes,
    wakeListeners,
    startWakeups: () => {
      // LISTEN in the instance's own session: its notifications arrive after each committing query.
      listening ??= instance.listen(wakeChannel(config.schema), () => wakeListeners.notify()).then(
        (unlisten) => {
          // As on a server: a task made ready before the LISTEN took effect is announced now.
          wakeListeners.notify()
          return unlisten
        },
        () => undefined,
      )
    },
    tryLock: async (name) => locks.tryLock(name),
    health: async () => ({ driver: 'pglite', serverVersion, dataDir: config.dataDir ?? null, writesRunning: writes.running }),
    shutdown: async () => {
      const unlisten = await listening
      if (unlisten && !instance.closed) await unlisten().catch(() => {})
      await locks.releaseAll()
      await db.destroy()
      // Kysely closes the instance only if it ever used it.
      if (owned && !instance.closed) await instance.close()
    },
  })
}

/** A new PGlite instance (in memory, or on `dataDir`), loading the optional peer dependency. */
async function createPglite(dataDir: string | undefined): Promise<PgliteInstance> {
  let module: typeof import('@electric-sql/pglite')
  try {
    module = await import('@electric-sql/pglite')
  } catch (error) {
    throw new NotSupported('The pglite engine needs the @electric-sql/pglite package: install it next to @kanban-db/adapter-postgres.', { cause: error })
  }
  return new module.PGlite(dataDir === undefined ? {} : { dataDir }) as unknown as PgliteInstance
}

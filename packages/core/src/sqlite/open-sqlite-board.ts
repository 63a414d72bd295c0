import { existsSync, statSync } from 'node:fs'
import { Kysely } from 'kysely'
import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import { classifySqliteError } from '../errors/classify.js'
import { BoardNotFound, SchemaMismatch } from '../errors/errors.js'
import { assertBoardOrEmpty, schemaShapes, type SchemaShapes } from '../corruption/foreign-file.js'
import { inspectBeforeInit, isCorrupt, preserveCorruptBoard, recordOpenRepair, reindexDamagedIndexes, type OpenRepair } from '../corruption/preserve-on-open.js'
import { resolvePolicy, type HygienePolicy } from '../hygiene/hygiene-policy.js'
import { openHygienicConnection } from '../hygiene/open-connection.js'
import { realBoardPath } from '../hygiene/real-path.js'
import { ConnectionDialect } from '../kysely/connection-dialect.js'
import type { BoardSchema } from '../schema/board-schema.js'
import { assertNotNewer, isSchemaCurrent, LATEST_SCHEMA_VERSION, migrate, migrations, readSchemaVersion } from '../schema/migrations.js'
import { resolveWriteOptions, WriteQueue, type WriteOptions } from '../write/write-transaction.js'
import { resolveBoardOptions, type CommonBoardOptions } from '../board/board-options.js'
import { invalid, requireObject, requireString } from '../board/validate.js'
import { SqliteFileBoard, type SqliteBoard } from './sqlite-board.js'
import { SqliteEngine } from './sqlite-engine.js'

const MEMORY = ':memory:'

/** What `openBoard` takes for a board in a SQLite file. */
export interface BoardOptions extends CommonBoardOptions {
  /**
   * The board file. Relative paths are resolved against the current directory, then to the file's
   * real path (symbolic links and `..` by the operating system's rules, as every other SQLite client
   * resolves them); `board.path` is that real path, and every sidecar, lock file and stat is derived
   * from it. `:memory:` opens a private in-memory board (gone at close; no other connection or process
   * can see it).
   */
  readonly path: string
  /** The driver adapter, for example `await createAdapter()` from `@kanban-db/adapter-better-sqlite3`. */
  readonly adapter: SqliteAdapter
  /** Overrides of the connection-hygiene policy, field by field (see `HygienePolicy`). */
  readonly policy?: Partial<HygienePolicy>
}

/**
 * Opens (creating and migrating when needed) the board at `options.path` through the connection-
 * hygiene policy, and returns it. Schema migrations run under the cross-process init lock, forward
 * only; a file written by a newer kanban-db is refused with `SchemaMismatch`.
 *
 * A damaged file is never written into on its way out. An existing file about to take the init path
 * (not yet WAL, or an older schema) is first checked with `integrity_check`: damage confined to
 * indexes is rebuilt with `REINDEX`, checked again and reported by `openRepairOf(board)`. Any other
 * damage, found there or raised as `Corrupt` by the open policy or the first read, leaves the file
 * untouched, keeps a copy at `<path>.corrupt-<sha256 prefix>` (and `-wal`) once no connection of this
 * process has it open, and raises `Corrupt` naming the copy. Busy and lock errors are never corruption.
 */
export async function openSqliteBoard(options: BoardOptions): Promise<SqliteBoard> {
  requireObject('options', options)
  const given = requireString('options.path', options.path, { max: 4096 })
  // `:memory:` is SQLite's private in-memory database, not a file name to resolve. A file is resolved
  // once to its real path (links, and `..` by the OS's rules, not as text): the file every other
  // SQLite client opens, and the one its sidecars and lock files are named from.
  const path = given === MEMORY ? MEMORY : realBoardPath(given)
  const adapter = options.adapter
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.open !== 'function') {
    throw invalid('options.adapter', 'expected a SqliteAdapter (the default export of an adapter package, awaited)')
  }
  const { readonly, clock, rules } = resolveBoardOptions(options)
  const writeOptions = resolveWriteOptions(options.write)
  if (readonly && path !== MEMORY && !existsSync(path)) {
    throw new BoardNotFound(`No board at ${path}: a read-only open never creates one. Open it once without readonly to create it.`, { details: { path } })
  }

  // Corruption preservation: an existing file about to take the init path is checked with
  // integrity_check before anything writes to it; index-only damage is rebuilt below, any other
  // damage is kept as a hashed copy (made with no connection open) and raised as Corrupt.
  const onDisk = path !== MEMORY
  const policy = resolvePolicy(options.policy)
  const inspection = onDisk && !readonly
    ? await inspectBeforeInit(adapter, path, LATEST_SCHEMA_VERSION, { allowUnsupportedFilesystem: policy.allowUnsupportedFilesystem })
    : { checked: false as const }
  if (inspection.checked && !inspection.ok && inspection.indexes === undefined) {
    throw preserveCorruptBoard(path, undefined, inspection.problems)
  }
  // A file with content must be a kanban-db board before the policy switches it to WAL or migrates it
  // (a foreign database, the Python board's for one, is refused with every byte as it was).
  const shapes: SchemaShapes | undefined = onDisk && (statSync(path, { throwIfNoEntry: false })?.size ?? 0) > 0 ? await schemaShapes(adapter, migrations) : undefined
  let hygienic
  try {
    hygienic = await openHygienicConnection(adapter, path, {
      policy,
      readonly,
      initialise: migrate,
      isInitialised: isSchemaCurrent,
      recognise: (connection) => {
        assertNotNewer(connection, readSchemaVersion(connection))
        if (shapes !== undefined) assertBoardOrEmpty(connection, shapes)
      },
    })
  } catch (error) {
    if (onDisk && isCorrupt(error)) throw preserveCorruptBoard(path, error, [])
    throw error
  }
  let repair: OpenRepair | undefined
  try {
    const version = readSchemaVersion(hygienic.connection)
    assertNotNewer(hygienic.connection, version)
    if (version !== LATEST_SCHEMA_VERSION) {
      throw new SchemaMismatch(
        `The board ${path} has schema version ${version}, and this kanban-db needs ${LATEST_SCHEMA_VERSION}. ` +
          'A read-only open does not migrate: open it once without readonly (for example from the dispatcher) first.',
        { details: { path, version, latest: LATEST_SCHEMA_VERSION } },
      )
    }
    if (inspection.checked && !inspection.ok && inspection.indexes !== undefined) {
      repair = reindexDamagedIndexes(hygienic.connection, path, inspection.indexes, inspection.problems)
    }
  } catch (error) {
    hygienic.close()
    const named = classifySqliteError(error, `checking the schema of ${path}`)
    if (onDisk && isCorrupt(named)) throw preserveCorruptBoard(path, named, [])
    throw named
  }

  const db = new Kysely<BoardSchema>({ dialect: new ConnectionDialect(hygienic.connection) })
  const writes = new WriteQueue<BoardSchema>(db, hygienic.connection, { ...writeOptions, readonly })
  const engine = new SqliteEngine({ path, readonly, adapter, hygienic, db, writes })
  const board = new SqliteFileBoard({ engine, clock: clock ?? Date.now, rules })
  if (repair !== undefined) recordOpenRepair(board, repair)
  return board
}

import { BoardNotFound, SchemaMismatch } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { MIGRATION_LOCK_KEYS, quoteIdentifier } from '../board-names.js'
import { postgresMigrations } from './postgres-migrations.js'

/** The table in the board's schema that records each applied migration step (its max is the version). */
export const SCHEMA_VERSION_TABLE = 'kanban_db_schema_version'

/**
 * One database session the migrator runs on, whichever client provides it. It must be ONE session
 * (a dedicated connection): the migration lock is session-scoped.
 */
export interface MigrationConnection {
  /** One statement with parameters; its rows. */
  query<R>(sql: string, parameters?: readonly unknown[]): Promise<R[]>
  /** A script of statements without parameters. */
  exec(script: string): Promise<void>
}

/** Where the board is, for messages. */
export interface MigrationTarget {
  readonly schema: string
  /** The engine's `location` (server, database, schema; never a password). */
  readonly location: string
}

/** The board's schema version in `schema`, or undefined when the schema holds no board. */
export async function readBoardVersion(connection: MigrationConnection, schema: string): Promise<number | undefined> {
  const table = `${quoteIdentifier(schema)}.${SCHEMA_VERSION_TABLE}`
  const [found] = await connection.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [table])
  if (!found?.present) return undefined
  const [row] = await connection.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${table}`)
  return row?.version ?? 0
}

/**
 * Checks a board for a read-only open: it must exist and be at {@link LATEST_SCHEMA_VERSION}
 * (`BoardNotFound` / `SchemaMismatch` saying what to do otherwise). Takes no lock and writes nothing.
 */
export async function checkBoardSchema(connection: MigrationConnection, target: MigrationTarget): Promise<number> {
  const version = await readBoardVersion(connection, target.schema)
  if (version === undefined || version === 0) {
    throw new BoardNotFound(
      `There is no board in ${target.location}, and it was opened read-only so none was created. Open it once without readonly to create it, or check the schema name.`,
      { details: { location: target.location, schema: target.schema } },
    )
  }
  assertNotNewer(version, target)
  if (version < LATEST_SCHEMA_VERSION) {
    throw new SchemaMismatch(
      `The board in ${target.location} has schema version ${version}, older than this kanban-db's ${LATEST_SCHEMA_VERSION}, and a read-only open does not migrate. ` +
        'Open it once without readonly to migrate it.',
      { details: { location: target.location, version, latest: LATEST_SCHEMA_VERSION } },
    )
  }
  return version
}

/**
 * Creates or migrates the board to {@link LATEST_SCHEMA_VERSION} and returns the version.
 *
 * A current board costs two reads and no lock. Otherwise the work runs under a session advisory lock
 * keyed by the schema (`pg_advisory_lock`), so any number of processes opening a fresh database at
 * once serialise here: the first creates the schema and applies the steps, the others then find the
 * board current. Under the lock the version is read again, and each step runs in its own
 * transaction together with its row in {@link SCHEMA_VERSION_TABLE}: a step is applied exactly once,
 * and a process that dies mid-step leaves nothing half done (its lock goes with its session).
 * A board newer than this code is refused with `SchemaMismatch` and left unchanged.
 */
export async function migrateBoardSchema(connection: MigrationConnection, target: MigrationTarget): Promise<number> {
  const steps = postgresMigrations(target.schema)
  assertMigrationsReachLatest(steps[steps.length - 1]?.version ?? 0)
  const before = await readBoardVersion(connection, target.schema)
  if (before !== undefined) assertNotNewer(before, target)
  if (before === LATEST_SCHEMA_VERSION) return before

  const schema = quoteIdentifier(target.schema)
  // The board's statementTimeoutMs is for its queries: waiting for another process's migration, and
  // the DDL itself, may take longer. RESET (in finally) goes back to the connection's own setting.
  await connection.exec('SET statement_timeout = 0')
  await connection.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEYS})`, [target.schema])
  try {
    // Both IF NOT EXISTS are for processes that held the lock before this one: under the lock, only
    // one session at a time can get here, so they never race each other.
    await connection.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`)
    await connection.exec(
      `CREATE TABLE IF NOT EXISTS ${schema}.${SCHEMA_VERSION_TABLE} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    )
    let version = (await readBoardVersion(connection, target.schema)) ?? 0
    assertNotNewer(version, target)
    for (const step of steps) {
      if (step.version <= version) continue
      await connection.exec(`BEGIN; SET LOCAL search_path TO ${schema}`)
      try {
        await connection.exec(step.sql)
        await connection.query(
          `INSERT INTO ${schema}.${SCHEMA_VERSION_TABLE} (version, description, applied_at) VALUES ($1, $2, (extract(epoch from clock_timestamp()) * 1000)::int8)`,
          [step.version, step.description],
        )
        await connection.exec('COMMIT')
      } catch (error) {
        await connection.exec('ROLLBACK').catch(() => {
          // The session is broken (the original error says why); the server rolls back with it.
        })
        throw error
      }
      version = step.version
    }
    return version
  } finally {
    await connection.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEYS})`, [target.schema]).catch(() => {
      // The session is gone, and its lock with it; the caller discards the connection.
    })
    await connection.exec('RESET statement_timeout').catch(() => {})
  }
}

/** `SchemaMismatch` for a board written by a newer kanban-db; nothing is changed. */
function assertNotNewer(version: number, target: MigrationTarget): void {
  if (version > LATEST_SCHEMA_VERSION) {
    throw new SchemaMismatch(
      `The board in ${target.location} has schema version ${version}, newer than this kanban-db knows (${LATEST_SCHEMA_VERSION}). ` +
        'Upgrade @kanban-db/core and @kanban-db/adapter-postgres in this program; the board was not changed.',
      { details: { location: target.location, version, latest: LATEST_SCHEMA_VERSION } },
    )
  }
}

/** Refuses to run when core expects a schema version this package has no Postgres step for. */
function assertMigrationsReachLatest(last: number): void {
  if (last !== LATEST_SCHEMA_VERSION) {
    throw new SchemaMismatch(
      `@kanban-db/core expects board schema version ${LATEST_SCHEMA_VERSION}, but this @kanban-db/adapter-postgres migrates Postgres boards to ${last}. ` +
        'Install matching versions of the two packages; nothing was changed.',
      { details: { adapterVersion: last, latest: LATEST_SCHEMA_VERSION } },
    )
  }
}

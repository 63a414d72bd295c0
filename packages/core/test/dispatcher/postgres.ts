import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { afterEach, describe } from 'vitest'
import { postgres } from '@kanban-db/adapter-postgres'
import { openBoard, type Board, type BoardEngineFactory } from '@kanban-db/core'
import { postgresUrl } from '../engines.js'

/**
 * Dispatcher tests on a real PostgreSQL server (`KANBAN_DB_POSTGRES_URL`; `./dev test` starts one).
 * Each board is a fresh schema, dropped after the test; boards opened with {@link PostgresBoards.open}
 * are closed after it.
 */

const SKIPPED = 'SKIPPED: no PostgreSQL server: set KANBAN_DB_POSTGRES_URL (./dev test starts a throwaway one)'

/** `describe` for tests that need the server: skipped, with the reason in its name, when none is set. */
export function describePostgres(name: string, body: () => void): void {
  describe.skipIf(postgresUrl === undefined)(postgresUrl === undefined ? `${name} (${SKIPPED})` : name, () => {
    afterEach(cleanUp)
    body()
  })
}

/** The server's URL; only inside {@link describePostgres}. */
export function serverUrl(): string {
  if (postgresUrl === undefined) throw new Error(SKIPPED)
  return postgresUrl
}

const schemas = new Set<string>()
const boards = new Set<Board>()
const cleanups: Array<() => Promise<void> | void> = []

/** A fresh board (a schema of its own on the server): its engine factory, and a way to open it here. */
export interface PostgresBoard {
  readonly schema: string
  /** A factory for the board: each `open()` of it is a new engine (its own pools, so its own sessions). */
  factory(): BoardEngineFactory
  /** Opens the board in this process (closed after the test). */
  open(): Promise<Board>
}

/** A new board on the server, in a random schema dropped after the test. */
export function freshPostgresBoard(): PostgresBoard {
  const schema = `kd_${randomBytes(6).toString('hex')}`
  schemas.add(schema)
  const factory = () => postgres({ connectionString: serverUrl(), schema, poolSize: 4 })
  return {
    schema,
    factory,
    open: async () => {
      const board = await openBoard({ engine: factory() })
      boards.add(board)
      return board
    },
  }
}

/**
 * The pid of the server backend holding the dispatcher's tick lock of the board in `schema`
 * (`tryLock('dispatch')`: a session advisory lock keyed by the schema's and the name's hashes), or
 * undefined when no session holds it.
 */
export async function tickLockHolder(admin: Board, schema: string): Promise<number | undefined> {
  const { rows } = await sql<{ pid: number }>`
    SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2
      AND classid = hashtext(${schema})::oid AND objid = hashtext('dispatch')::oid`.execute(admin.db)
  return rows[0]?.pid
}

/** Ends the backend `pid` the way an operator or a failover does (`pg_terminate_backend`), and waits until it is gone. */
export async function terminateBackend(admin: Board, pid: number): Promise<void> {
  const { rows } = await sql<{ done: boolean }>`SELECT pg_terminate_backend(${pid}, 30000) AS done`.execute(admin.db)
  if (rows[0]?.done !== true) throw new Error(`backend ${pid} did not end`)
}

/** Runs `cleanup` after the test, before its boards are closed and its schemas dropped (last registered, first run). */
export function afterTest(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup)
}

async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  const open = [...boards]
  boards.clear()
  const names = [...schemas]
  schemas.clear()
  try {
    if (names.length === 0) return
    // Any board on the server can drop the schemas: one the test opened, else one opened for it.
    const admin = open[0] ?? (await openBoard({ engine: postgres({ connectionString: serverUrl(), schema: names[0]!, poolSize: 1 }) }))
    if (open.length === 0) open.push(admin)
    for (const name of names) await sql`DROP SCHEMA IF EXISTS ${sql.id(name)} CASCADE`.execute(admin.db)
  } finally {
    await Promise.allSettled(open.map((board) => board.close()))
  }
}

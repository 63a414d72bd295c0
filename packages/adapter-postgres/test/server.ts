import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterEach, describe } from 'vitest'
import type { BoardEngine } from '@kanban-db/core/adapter'
import type { TaskStatus } from '@kanban-db/core'

/**
 * Test helpers for the PostgreSQL engine against a real server. The server comes from
 * `KANBAN_DB_POSTGRES_URL` (`./dev` starts a throwaway PostgreSQL and exports it; by hand, see the
 * PostgreSQL section of docs/toolchain.md, then `postgresql://kanban@localhost/postgres?host=<socketdir>`).
 * Every test gets fresh random schemas, dropped after it, so tests and test files never share a board.
 */

/** The server's URL, or undefined when no server was given. */
export const postgresUrl: string | undefined = process.env['KANBAN_DB_POSTGRES_URL'] || undefined

/** Why server tests are skipped, shown in the suite's name. */
export const SKIPPED_WITHOUT_SERVER =
  'SKIPPED: KANBAN_DB_POSTGRES_URL is not set; run through ./dev, or start a throwaway PostgreSQL (docs/toolchain.md) and export its URL'

/**
 * `describe` for tests that need the server: skipped, with the reason in its name, when
 * `KANBAN_DB_POSTGRES_URL` is unset. Engines opened with {@link track} are closed, and schemas made
 * with {@link freshSchema} dropped, after each test.
 */
export function describeServer(name: string, body: () => void): void {
  describe.skipIf(postgresUrl === undefined)(postgresUrl === undefined ? `${name} (${SKIPPED_WITHOUT_SERVER})` : name, () => {
    afterEach(cleanUp)
    body()
  })
}

/** The server URL; only call inside {@link describeServer}. */
export function serverUrl(): string {
  if (postgresUrl === undefined) throw new Error(SKIPPED_WITHOUT_SERVER)
  return postgresUrl
}

const schemas = new Set<string>()
const engines = new Set<BoardEngine>()
const clients = new Set<pg.Client>()

/** A new random schema name for this test (`kt_` and 12 hex digits), dropped after the test. */
export function freshSchema(): string {
  const name = `kt_${randomBytes(6).toString('hex')}`
  schemas.add(name)
  return name
}

/** Closes `engine` after the test (if the test did not); returns it. */
export function track<E extends BoardEngine>(engine: E): E {
  engines.add(engine)
  return engine
}

/**
 * A raw node-postgres connection outside any engine, ended after the test. With `schema`, it runs in
 * that schema (search_path). Bigints come back as numbers here too, to compare with the engine's.
 */
export async function rawClient(schema?: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: serverUrl(),
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as never },
  })
  // A test that terminates this connection's backend expects the error; it must not crash the run.
  client.on('error', () => {})
  await client.connect()
  clients.add(client)
  return client
}

async function cleanUp(): Promise<void> {
  const open = [...engines]
  engines.clear()
  await Promise.allSettled(open.map((engine) => engine.close()))
  const raw = [...clients]
  clients.clear()
  await Promise.allSettled(raw.map((client) => client.end()))
  const names = [...schemas]
  schemas.clear()
  if (names.length === 0) return
  const admin = new pg.Client({ connectionString: serverUrl() })
  await admin.connect()
  try {
    for (const name of names) await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`)
  } finally {
    await admin.end()
  }
}

/** A promise with its resolve, for signals between concurrent transactions. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/**
 * Waits until `check` holds, asking again each time the event loop has turned over a few
 * milliseconds. For conditions only the server can tell (a backend waiting on a lock); the test's
 * timeout bounds it. Not a sleep to let something happen: it returns as soon as the condition holds.
 */
export async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 5))
}

/** A minimal `tasks` row for engine tests (the board's own create path is core's to test). */
export function taskRow(id: string, status: TaskStatus = 'ready', now = Date.now(), extra: Record<string, unknown> = {}) {
  return {
    id, title: `task ${id}`, body: '', status, priority: 0, assignee: null, created_by: null, idempotency_key: null, meta: '{}',
    created_at: now, updated_at: now, started_at: null, completed_at: null, claim_token: null, claimed_by: null, worker_pid: null,
    worker_host: null, claimed_at: null, claim_expires_at: null, lease_ms: null, heartbeat_at: null, current_run_id: null, attempts: 0,
    max_attempts: 3, result: null, last_error: null, block_reason: null, max_retries: null, block_kind: null, due_at: null, tenant: null,
    max_runtime_ms: null, review_requested_by: null, review_summary: null, ...extra,
  }
}

/** A minimal `events` row for `taskId`. */
export function eventRow(taskId: string, kind = 'created', now = Date.now()) {
  return { task_id: taskId, run_id: null, kind, from_status: null, to_status: 'ready', payload: null, created_at: now }
}

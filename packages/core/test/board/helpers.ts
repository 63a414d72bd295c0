import { join } from 'node:path'
import { sql } from 'kysely'
import { openBoard, type Board as AnyBoard, type BoardOptions, type CommonBoardOptions, type SqliteAdapter, type SqliteBoard as Board } from '@kanban-db/core'
import { afterEach } from 'vitest'
import { isEngineSubject, type EngineSubject } from '../engines.js'
import { tempDir } from '../temp-dir.js'

/** A clock tests move by hand. */
export class TestClock {
  constructor(public now = 1_700_000_000_000) {}
  readonly read = (): number => this.now
  advance(ms: number): number {
    this.now += ms
    return this.now
  }
}

/**
 * Opens a board on a fresh file (a SQLite adapter) or a fresh database or schema (an engine
 * subject), with a test clock; closed (and its schema dropped) after the test.
 */
export async function openTestBoard(adapter: SqliteAdapter, options?: Partial<BoardOptions>): Promise<{ board: Board; clock: TestClock; path: string }>
export async function openTestBoard(
  subject: SqliteAdapter | EngineSubject,
  options?: Partial<CommonBoardOptions>,
): Promise<{ board: AnyBoard; clock: TestClock; path: string }>
export async function openTestBoard(
  subject: SqliteAdapter | EngineSubject,
  options: Partial<BoardOptions> = {},
): Promise<{ board: AnyBoard; clock: TestClock; path: string }> {
  const clock = new TestClock()
  if (isEngineSubject(subject)) {
    const { factory, schema } = subject.fresh()
    const board = await openBoard({ clock: clock.read, ...options, engine: factory })
    afterEach(async () => {
      if (schema !== undefined) await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(board.db).catch(() => {})
      await board.close()
    })
    return { board, clock, path: board.location }
  }
  const path = options.path ?? join(tempDir(), 'board.db')
  const board = await openBoard({ adapter: subject, clock: clock.read, ...options, path })
  afterEach(() => board.close())
  return { board, clock, path }
}

/** Everything on the board, to show that a refused call changed nothing. */
export async function snapshot(board: AnyBoard): Promise<unknown> {
  return {
    tasks: await board.db.selectFrom('tasks').selectAll().orderBy('id').execute(),
    dependencies: await board.db.selectFrom('task_dependencies').selectAll().orderBy('task_id').orderBy('depends_on_id').execute(),
    runs: await board.db.selectFrom('task_runs').selectAll().orderBy('id').execute(),
    events: await board.db.selectFrom('events').selectAll().orderBy('id').execute(),
  }
}

/**
 * Runs `call`, expects it to reject with an error of `code` (`*`: any error), and checks the board
 * did not change.
 */
export async function expectRefused(board: AnyBoard, code: string, call: () => Promise<unknown>): Promise<Error & { code: string }> {
  const before = await snapshot(board)
  let caught: unknown
  try {
    await call()
  } catch (error) {
    caught = error
  }
  if (caught === undefined) throw new Error(`expected a ${code} error, but the call succeeded`)
  if (code !== '*' && (caught as { code?: unknown }).code !== code) throw new Error(`expected ${code}, got ${String((caught as Error).stack ?? caught)}`)
  const after = await snapshot(board)
  if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`the refused call (${code}) changed the board`)
  return caught as Error & { code: string }
}

export const worker = { workerId: 'worker-1', pid: process.pid, host: 'host-a', leaseMs: 60_000 } as const

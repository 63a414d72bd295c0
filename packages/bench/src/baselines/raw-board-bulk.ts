import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { benchTasks, boardPragma, openBenchBoard, type BenchTaskInput } from '../board-client.ts'
import { type BoardPolicyPragmas, boardId, openRawBoard } from './raw-board.ts'
import type { Synchronous } from './raw-database.ts'

/** Rows per transaction and per multi-row INSERT (M4: "100 per transaction"). */
export const BULK_ROWS = 100

const TASK_COLUMNS = [
  'id', 'title', 'body', 'status', 'priority', 'assignee', 'created_by', 'idempotency_key', 'meta', 'created_at',
  'updated_at', 'attempts', 'max_attempts', 'max_retries', 'due_at', 'tenant', 'max_runtime_ms',
] as const
const EVENT_COLUMNS = ['task_id', 'run_id', 'kind', 'from_status', 'to_status', 'payload', 'created_at'] as const

const multiRowInsert = (table: string, columns: readonly string[], rows: number): string =>
  `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ` +
  Array.from({ length: rows }, () => `(${columns.map(() => '?').join(', ')})`).join(', ')

/**
 * `raw-board-bulk/<sync>` (M4's baseline): a hand-written better-sqlite3 loop that writes what
 * `createTasks` writes for the bench's tasks, the task rows and their `created` events, with two
 * multi-row INSERTs (100 task rows, then their 100 events) per BEGIN IMMEDIATE / COMMIT, on a file
 * `openBoard` created (the board's schema, indexes, triggers and policy pragmas). Rows per second.
 *
 * Its rows are checked against the board's (the statement-drift check's counterpart for a loop
 * whose statements are its own): each run first lets the built board create two tasks on a scratch
 * file and the raw loop insert the same two inputs beside them, and compares every column of the
 * task rows and their events except ids and times. A difference is a failure naming the column.
 */
export function rawBoardBulk(synchronous: Synchronous): Contender {
  return {
    id: `raw-board-bulk/${synchronous}`,
    description: `better-sqlite3 inserting createTasks' task and event rows, multi-row INSERTs of ${BULK_ROWS}, one transaction each, ${synchronous}; rows per second`,
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const failures = await rowDrift(join(context.dir, 'rows-check.db'), synchronous)
      const { db } = await boardFileOpenedRaw(join(context.dir, 'raw-board-bulk.db'), synchronous)
      try {
        const insert = rawBulkInsert(db)
        let rows = 0
        const start = now()
        const end = start + context.durationMs
        let t = start
        while (t < end) {
          insert(benchTasks(BULK_ROWS, rows), Date.now())
          rows += BULK_ROWS
          t = now()
        }
        const stored = Number(db.prepare(`select count(*) from "tasks" where "status" = 'ready'`).pluck().get())
        const events = Number(db.prepare(`select count(*) from "events" where "kind" = 'created'`).pluck().get())
        if (stored !== rows || events !== rows) failures.push(`raw-board-bulk: inserted ${rows} tasks, the file holds ${stored} ready tasks and ${events} created events`)
        return { figures: { perSecond: (rows * 1000) / (t - start) }, failures }
      } finally {
        db.close()
      }
    },
  }
}

/** Creates a board file through `openBoard`, reads its policy pragmas back and opens it raw. */
async function boardFileOpenedRaw(path: string, synchronous: Synchronous, before?: (board: Awaited<ReturnType<typeof openBenchBoard>>) => Promise<void>): Promise<{ db: BetterSqlite3.Database }> {
  const board = await openBenchBoard(path, synchronous)
  const pragmas: Record<string, number> = {}
  try {
    for (const name of ['foreign_keys', 'secure_delete', 'cell_size_check', 'wal_autocheckpoint']) pragmas[name] = Number(await boardPragma(board, name))
    await before?.(board)
  } finally {
    await board.close()
  }
  return { db: openRawBoard(path, synchronous, pragmas as BoardPolicyPragmas) }
}

/**
 * The raw loop's one operation: `inputs` (at most {@link BULK_ROWS}) as task rows shaped as
 * createTasks shapes them for plain inputs (ready, meta `{}`, three attempts, nothing else set),
 * then one `created` event per task, in one transaction. Multi-row statements are prepared per
 * row count and kept.
 */
export function rawBulkInsert(db: BetterSqlite3.Database): (inputs: readonly BenchTaskInput[], nowMs: number) => void {
  const prepared = new Map<number, [BetterSqlite3.Statement, BetterSqlite3.Statement]>()
  const statements = (n: number): [BetterSqlite3.Statement, BetterSqlite3.Statement] => {
    let pair = prepared.get(n)
    if (!pair) {
      pair = [db.prepare(multiRowInsert('tasks', TASK_COLUMNS, n)), db.prepare(multiRowInsert('events', EVENT_COLUMNS, n))]
      prepared.set(n, pair)
    }
    return pair
  }
  const begin = db.prepare('BEGIN IMMEDIATE')
  const commit = db.prepare('COMMIT')
  return (inputs, nowMs) => {
    const [insertTasks, insertEvents] = statements(inputs.length)
    const tasks: unknown[] = []
    const events: unknown[] = []
    for (const input of inputs) {
      const id = boardId('t_', nowMs)
      tasks.push(id, input.title, '', 'ready', input.priority ?? 0, null, null, null, '{}', nowMs, nowMs, 0, 3, null, null, null, null)
      events.push(id, null, 'created', null, 'ready', 'null', nowMs)
    }
    begin.run()
    try {
      insertTasks.run(tasks)
      insertEvents.run(events)
      commit.run()
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK')
      throw error
    }
  }
}

const VARYING = new Set(['id', 'task_id', 'created_at', 'updated_at'])

/**
 * Lets the board create two tasks on a scratch file at `path` and the raw loop insert the same two
 * inputs there, then compares the rows (tasks, and their `created` events) column by column, ids
 * and times left out. Returns the differences as failures.
 */
export async function rowDrift(path: string, synchronous: Synchronous): Promise<string[]> {
  const inputs = benchTasks(2).map((input) => ({ ...input, title: `board ${input.title}` }))
  const { db } = await boardFileOpenedRaw(path, synchronous, async (board) => {
    await board.createTasks(inputs)
  })
  try {
    rawBulkInsert(db)(inputs.map((input) => ({ ...input, title: input.title.replace(/^board /, 'raw ') })), Date.now())
    const failures: string[] = []
    const rowsOf = (prefix: string): { task: Record<string, unknown>; event: Record<string, unknown> | undefined }[] =>
      (db.prepare(`select * from "tasks" where "title" like ? order by "title"`).all(`${prefix} %`) as Record<string, unknown>[]).map((task) => ({
        task,
        event: db.prepare(`select * from "events" where "task_id" = ? and "kind" = 'created'`).get(task['id']) as Record<string, unknown> | undefined,
      }))
    const board = rowsOf('board')
    const raw = rowsOf('raw')
    if (board.length !== inputs.length || raw.length !== inputs.length) return [`raw-board-bulk rows check: the board created ${board.length} tasks, the raw loop ${raw.length}, of ${inputs.length}`]
    for (let i = 0; i < inputs.length; i++) {
      for (const [what, b, r] of [['task', board[i]!.task, raw[i]!.task], ['created event', board[i]!.event ?? {}, raw[i]!.event ?? {}]] as const) {
        for (const column of new Set([...Object.keys(b), ...Object.keys(r)])) {
          if (VARYING.has(column) || (what === 'task' && column === 'title')) continue
          if (b[column] !== r[column]) {
            failures.push(`raw-board-bulk rows check: the ${what}'s ${column} is ${JSON.stringify(b[column])} from the board and ${JSON.stringify(r[column])} from the raw loop (update src/baselines/raw-board-bulk.ts)`)
          }
        }
      }
    }
    return failures.slice(0, 5)
  } finally {
    db.close()
  }
}

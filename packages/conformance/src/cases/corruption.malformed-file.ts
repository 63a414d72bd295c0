import { strict as assert } from 'node:assert'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { KanbanDbError, openBoard, type Board } from '@kanban-db/core'
import { sqliteCodeOf } from '@kanban-db/core/adapter'
import type { CaseContext, ConformanceCase } from '../case.js'

const TASKS = 200
/** The named errors a malformed board may be reported with. */
const NAMED = ['NOT_A_DATABASE', 'CORRUPT']

interface Damage {
  readonly name: string
  readonly apply: (good: Buffer, facts: { pageSize: number; tasksRootPage: number }) => Buffer
}

/** Three ways a board file really gets damaged. */
const DAMAGES: readonly Damage[] = [
  {
    name: 'bad magic',
    apply: (good) => {
      const damaged = Buffer.from(good)
      damaged.write('NotSQLite format', 0, 'latin1')
      return damaged
    },
  },
  { name: 'truncated', apply: (good, { pageSize }) => Buffer.from(good.subarray(0, pageSize * 2 + 100)) },
  {
    name: 'zeroed b-tree page (the tasks table root)',
    apply: (good, { pageSize, tasksRootPage }) => {
      const damaged = Buffer.from(good)
      damaged.fill(0, (tasksRootPage - 1) * pageSize, tasksRootPage * pageSize)
      return damaged
    },
  },
]

/**
 * A malformed board file (bad magic, truncated, a zeroed b-tree page) is reported with a named
 * error (`NotADatabase` or `Corrupt`, SQLite's code kept) and never re-initialised or "repaired":
 * the file's bytes are the same after every attempt. Byte comparison is safe here: no connection
 * to the file is open while it is read. Control: a raw driver connection really hits SQLite's
 * error on each damaged file, and the undamaged file opens as a board with all its tasks.
 */
export const malformedFile: ConformanceCase = {
  id: 'corruption.malformed-file',
  title: 'a malformed file (bad magic, truncated, zeroed b-tree page) gets a named error, is never re-initialised, and its bytes stay unchanged',
  tier: 'corruption',
  requires: [],
  timeoutMs: 60_000,
  async run(context) {
    const goodPath = context.path('good.db')
    const facts = await writeGoodBoard(context, goodPath)
    assert.ok(!existsSync(`${goodPath}-wal`) || readFileSync(`${goodPath}-wal`).length === 0, 'the closed board left a WAL behind') // no connection open
    const good = readFileSync(goodPath) // no connection open: safe
    const reopened = await openBoard({ path: goodPath, adapter: context.adapter })
    try {
      assert.equal((await reopened.listTasks({ limit: 1_000 })).length, TASKS, 'control: the undamaged board does not open with its tasks')
    } finally {
      await reopened.close()
    }

    for (const [index, damage] of DAMAGES.entries()) {
      const damaged = damage.apply(good, facts)

      // Control: SQLite itself sees the damage.
      const controlPath = context.path(`control-${index}.db`)
      writeFileSync(controlPath, damaged)
      const rawCode = await rawReadError(context, controlPath)
      context.note(`${damage.name}: raw driver read -> ${rawCode ?? 'no error'}`)
      if (rawCode === undefined || !/^SQLITE_(NOTADB|CORRUPT)/.test(rawCode)) {
        throw new Error(`control did not reproduce the hazard: a raw read of the ${damage.name} file gave ${rawCode ?? 'no error'}, not SQLITE_NOTADB/SQLITE_CORRUPT`)
      }

      // The board: a named error, twice (a retry must not "fix" it by initialising), bytes unchanged.
      const path = context.path(`damaged-${index}.db`)
      writeFileSync(path, damaged)
      for (const attempt of [1, 2]) {
        const error = await boardError(context, path)
        assert.ok(KanbanDbError.isKanbanDbError(error), `${damage.name}, attempt ${attempt}: the board reported ${String(error)}, not a named error`)
        assert.ok(NAMED.includes(error.code), `${damage.name}, attempt ${attempt}: reported as ${error.code}, expected one of ${NAMED.join(', ')}`)
        assert.ok(error.sqliteCode !== undefined && error.cause !== undefined, `${damage.name}: SQLite's error is not kept as cause/sqliteCode`)
        if (attempt === 1) context.note(`${damage.name}: ${error.name} (${error.code}, ${error.sqliteCode})`)
        const after = readFileSync(path) // every connection is closed again
        assert.ok(after.equals(damaged), `${damage.name}, attempt ${attempt}: the file's bytes changed (re-initialised or rewritten)`)
      }
    }
  },
}

async function writeGoodBoard(context: CaseContext, path: string): Promise<{ pageSize: number; tasksRootPage: number }> {
  const board = await openBoard({ path, adapter: context.adapter })
  try {
    await board.createTasks(Array.from({ length: TASKS }, (_, index) => ({ title: `task ${index}`, body: 'x'.repeat(200) })))
  } finally {
    await board.close()
  }
  const connection = await context.adapter.open(path)
  try {
    const pageSize = Number(Object.values(connection.prepare('PRAGMA page_size').all([])[0]!)[0])
    const tasksRootPage = Number(connection.prepare("select rootpage from sqlite_schema where name = 'tasks'").all([])[0]!.rootpage)
    return { pageSize, tasksRootPage }
  } finally {
    connection.close()
  }
}

/** SQLite's code when a raw connection reads the tasks table, or undefined when it reads fine. */
async function rawReadError(context: CaseContext, path: string): Promise<string | undefined> {
  let connection
  try {
    connection = await context.adapter.open(path)
    // A full scan of the table (count(*) could be answered from a smaller index and miss the page).
    connection.prepare('select id, title, body from tasks').all([])
    return undefined
  } catch (error) {
    return sqliteCodeOf(error) ?? String(error)
  } finally {
    connection?.close()
  }
}

/** The error the board reports, at open or at the first read; fails when there is none. */
async function boardError(context: CaseContext, path: string): Promise<unknown> {
  let board: Board
  try {
    board = await openBoard({ path, adapter: context.adapter })
  } catch (error) {
    return error
  }
  try {
    await board.listTasks()
    await board.createTask({ title: 'written to a malformed file' })
  } catch (error) {
    return error
  } finally {
    await board.close()
  }
  throw new Error(`the malformed file ${path} opened as a board and took a write without any error`)
}

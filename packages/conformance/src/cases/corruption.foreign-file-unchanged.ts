import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync } from 'node:fs'
import { KanbanDbError, openBoard } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import type { ConformanceCase } from '../case.js'

/** A foreign database: SQL that builds it in rollback-journal (DELETE) mode. */
interface Foreign {
  readonly name: string
  readonly sql: string
}

const FOREIGNS: readonly Foreign[] = [
  {
    name: "tables and no schema version (the Python board's shape)",
    sql: "CREATE TABLE tasks (id INTEGER PRIMARY KEY, name TEXT, state TEXT); INSERT INTO tasks (name, state) VALUES ('deploy', 'open'), ('review', 'done');",
  },
  {
    name: 'a schema version and tables of its own',
    sql: "CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, done INTEGER); INSERT INTO tasks (title, done) VALUES ('x', 0); PRAGMA user_version = 3;",
  },
  {
    name: "another program's tables, no name in common with a board",
    sql: "CREATE TABLE items (label TEXT); INSERT INTO items VALUES ('kept');",
  },
]

/**
 * Opening a SQLite database that is not a kanban-db board, in rollback-journal mode, fails with
 * `ForeignDatabase` before anything is written: every byte of the file is the same afterwards, it is
 * still in DELETE mode, and no `-wal`/`-shm` appeared; twice in a row, then read-only (a named error,
 * `ForeignDatabase` or `SchemaMismatch`, and nothing written either). One
 * foreign file is written by Python's sqlite3 (the Python board's client) when it is installed.
 * Byte comparison is safe: no connection to the file is open while it is read.
 * Control: what the open policy did before it looked at the schema, `PRAGMA journal_mode=WAL` on a
 * copy, changes the file (on adapters with WAL).
 */
export const foreignFileUnchanged: ConformanceCase = {
  id: 'corruption.foreign-file-unchanged',
  title: 'a foreign SQLite database in rollback-journal mode is refused with ForeignDatabase before anything is written: bytes and journal mode unchanged',
  tier: 'corruption',
  requires: [],
  timeoutMs: 60_000,
  async run(context) {
    const { adapter } = context
    const files: { name: string; path: string }[] = []
    for (const [index, foreign] of FOREIGNS.entries()) {
      const path = context.path(`foreign-${index}.db`)
      const connection = await adapter.open(path)
      try {
        connection.exec('PRAGMA journal_mode = DELETE')
        connection.exec(foreign.sql)
      } finally {
        connection.close()
      }
      files.push({ name: foreign.name, path })
    }
    const pythonPath = context.path('python-board.db')
    try {
      execFileSync('python3', ['-c', [
        'import sqlite3, sys',
        'c = sqlite3.connect(sys.argv[1])',
        'c.execute("create table tasks (id integer primary key, name text, state text, created real)")',
        'c.execute("insert into tasks (name, state, created) values (\'summarize\', \'open\', 1.5)")',
        'c.commit()',
        'c.close()',
      ].join('\n'), pythonPath], { stdio: 'pipe' })
      files.push({ name: "the Python board's file, written by Python's sqlite3", path: pythonPath })
    } catch (error) {
      context.note(`python3 with sqlite3 is not available (${error instanceof Error ? error.message.split('\n')[0] : String(error)}): the Python-written file is left out`)
    }

    // Control: the switch to WAL the open policy made before it looked at the schema changes the file.
    const controlPath = context.path('control.db')
    copyFileSync(files[0]!.path, controlPath) // --allow-fs: no connection to either file is open
    const controlBefore = readFileSync(controlPath) // --allow-fs: no connection open
    const control = await adapter.open(controlPath)
    let switched: string
    try {
      switched = adapter.setPragma(control, 'journal_mode', 'WAL')
    } finally {
      control.close()
    }
    const controlChanged = !readFileSync(controlPath).equals(controlBefore) // --allow-fs: closed again
    context.note(`control: PRAGMA journal_mode=WAL on a copy answered ${switched}; the file ${controlChanged ? 'changed' : 'did not change'}`)
    if (adapter.capabilities.wal && !controlChanged) throw new Error('control did not reproduce the hazard: switching a copy to WAL left its bytes unchanged')

    for (const { name, path } of files) {
      const before = readFileSync(path) // --allow-fs: no connection to it is open
      assert.equal(await journalMode(adapter, path), 'delete', `${name}: the foreign file is not in DELETE mode to begin with`)
      for (const readonly of [false, false, true]) {
        let error: unknown
        try {
          const board = await openBoard({ path, adapter, readonly })
          await board.close()
        } catch (caught) {
          error = caught
        }
        const how = readonly ? 'read-only open' : 'open'
        const outcome = error === undefined ? 'succeeded' : `failed with ${String(error)}`
        assert.ok(readFileSync(path).equals(before), `${name}: the ${how} (it ${outcome}) changed the file's bytes`) // --allow-fs: every connection is closed
        assert.ok(!existsSync(`${path}-wal`) && !existsSync(`${path}-shm`), `${name}: the ${how} (it ${outcome}) left a -wal or -shm beside the file`)
        assert.ok(error !== undefined, `${name}: the ${how} of a foreign database succeeded`)
        assert.ok(KanbanDbError.isKanbanDbError(error), `${name}: the ${how} failed with ${String(error)}, not a named error`)
        // A read-only open writes nothing and reports the schema it cannot use (SCHEMA_MISMATCH).
        const codes = readonly ? ['FOREIGN_DATABASE', 'SCHEMA_MISMATCH'] : ['FOREIGN_DATABASE']
        assert.ok(codes.includes(error.code), `${name}: the ${how} failed with ${error.code} (${error.message}), not ${codes.join(' or ')}`)
      }
      assert.equal(await journalMode(adapter, path), 'delete', `${name}: the refused opens changed the journal mode`)
      assert.ok(readFileSync(path).equals(before), `${name}: reading the journal mode changed the file`) // --allow-fs: closed again
      context.note(`${name}: refused twice with FOREIGN_DATABASE and once read-only, bytes and journal mode unchanged`)
    }
  },
}

/** The journal mode a fresh read-only connection reads from the file. */
async function journalMode(adapter: SqliteAdapter, path: string): Promise<string> {
  const connection = await adapter.open(path, { readonly: true, create: false })
  try {
    return String(Object.values(connection.prepare('PRAGMA journal_mode').all([])[0] ?? {})[0]).toLowerCase()
  } finally {
    connection.close()
  }
}

import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { CaseSkipped } from '../strace.js'

/**
 * Foreign clients on a kanban-db board (this file is not a case): Python's `sqlite3` module and
 * Debian's `sqlite3` shell, both SQLite 3.40.1 on this project's machines, older than the 3.51
 * change that refuses to unlink the sidecars while another process holds the -shm lock. They are
 * what a mixed fleet runs (the Python agent gateway, operators, dashboards), and the old-SQLite
 * closer every H2 control needs.
 */

const run = promisify(execFile)

/** A foreign client that is installed, with its SQLite version. */
export interface ForeignClient {
  readonly name: string
  readonly sqliteVersion: string
}

let python: ForeignClient | null | undefined
let shell: ForeignClient | null | undefined

/** Python's sqlite3 module, or a skip with the reason. */
export function requirePython(): ForeignClient {
  if (python === undefined) {
    const probe = spawnSync('python3', ['-c', 'import sqlite3; print(sqlite3.sqlite_version)'], { encoding: 'utf8' })
    python = probe.status === 0 ? { name: 'python3 sqlite3', sqliteVersion: probe.stdout.trim() } : null
  }
  if (python === null) throw new CaseSkipped("needs python3 with its sqlite3 module (a foreign client on an old SQLite); it is not installed")
  return python
}

/** Debian's sqlite3 shell, or a skip with the reason. */
export function requireSqliteShell(): ForeignClient {
  if (shell === undefined) {
    const probe = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' })
    shell = probe.status === 0 ? { name: 'sqlite3 shell', sqliteVersion: probe.stdout.split(' ')[0] ?? '' } : null
  }
  if (shell === null) throw new CaseSkipped('needs the sqlite3 command-line shell; it is not installed')
  return shell
}

/** Runs a Python script with `args` and parses the JSON it prints last. */
export async function runPython<T>(script: string, args: readonly string[]): Promise<T> {
  const { stdout } = await run('python3', ['-c', script, ...args], { maxBuffer: 64 * 1024 * 1024 })
  const last = stdout.trim().split('\n').at(-1) ?? 'null'
  return JSON.parse(last) as T
}

/** An old-SQLite process that opens the board, reads it and closes: the closer H1/H2 need. */
export async function pythonCloser(path: string): Promise<number> {
  return runPython<number>(
    [
      'import sqlite3, sys, json',
      'c = sqlite3.connect(sys.argv[1], timeout=10)',
      'n = c.execute("select count(*) from items").fetchone()[0]',
      'c.close()',
      'print(json.dumps(n))',
    ].join('\n'),
    [path],
  )
}

/** An old-SQLite process that commits `labels` into `items(label)`, one BEGIN IMMEDIATE each, then closes. */
export async function pythonWriter(path: string, labels: readonly string[]): Promise<string[]> {
  return runPython<string[]>(
    [
      'import sqlite3, sys, json',
      'c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)',
      'done = []',
      'for label in json.loads(sys.argv[2]):',
      '    c.execute("BEGIN IMMEDIATE")',
      '    c.execute("insert into items (label) values (?)", (label,))',
      '    c.execute("COMMIT")',
      '    done.append(label)',
      'c.close()',
      'print(json.dumps(done))',
    ].join('\n'),
    [path, JSON.stringify(labels)],
  )
}

/** What a fresh old-SQLite process sees of the board. */
export interface ForeignView {
  readonly labels: string[]
  readonly integrity: string[]
  readonly journalMode: string
}

/** Reads the board in a fresh Python process: every label, integrity_check, journal mode. */
export async function pythonView(path: string): Promise<ForeignView> {
  return runPython<ForeignView>(
    [
      'import sqlite3, sys, json',
      'c = sqlite3.connect(sys.argv[1], timeout=10)',
      'labels = [r[0] for r in c.execute("select label from items order by id")]',
      'integrity = [r[0] for r in c.execute("pragma integrity_check")]',
      'mode = c.execute("pragma journal_mode").fetchone()[0]',
      'c.close()',
      'print(json.dumps({"labels": labels, "integrity": integrity, "journalMode": mode}))',
    ].join('\n'),
    [path],
  )
}

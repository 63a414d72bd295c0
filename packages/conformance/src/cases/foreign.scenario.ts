import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { openBoard } from '@kanban-db/core'
import type { CaseContext } from '../case.js'
import { pythonView, requirePython, requireSqliteShell, runPython } from './foreign.clients.js'

/**
 * The scenario the `foreign.*` cases share (this file is not a case): two kanban-db worker
 * processes on the adapter under test create, claim and complete tasks on one board for
 * `seconds`, while foreign clients on SQLite 3.40 share the same file; then the invariants.
 */

const run = promisify(execFile)

/** Which foreign clients run beside the workers. */
export interface ForeignMix {
  /** A Python process polling task and event counts every 50 ms on one long-lived connection. */
  readonly pythonReader?: boolean
  /** A Python process adding rows in its own BEGIN IMMEDIATE transactions (a new connection per row). */
  readonly pythonWriter?: boolean
  /** The sqlite3 shell taking `.backup` and `PRAGMA quick_check` in a loop (a new process each time). */
  readonly shell?: boolean
}

interface WorkerReport {
  readonly pid: number
  readonly created: string[]
  readonly completed: string[]
  readonly busy: number
  readonly lostLockAudits: number
  readonly audits: number
  readonly maxDeletedSidecarFds: number
  readonly errors: string[]
  readonly errorCount: number
}

/** Runs the mix for `seconds` and asserts every invariant; returns a one-line summary. */
export async function runForeignScenario(context: CaseContext, mix: ForeignMix, seconds = 10): Promise<string> {
  if (mix.pythonReader || mix.pythonWriter) requirePython()
  if (mix.shell) requireSqliteShell()
  const path = context.path('board.db')
  const board = await openBoard({ path, adapter: context.adapter })
  const seeded = (await board.createTasks(Array.from({ length: 200 }, (_, index) => ({ title: `seed ${index}` })))).map((task) => task.id)
  await board.close()
  await runPython<null>(
    ['import sqlite3, sys', 'c = sqlite3.connect(sys.argv[1], timeout=10)', 'c.execute("create table foreign_rows (id integer primary key, label text not null unique)")', 'c.commit()', 'c.close()', 'print("null")'].join('\n'),
    [path],
  )

  const untilMs = Date.now() + seconds * 1000
  const workers = [0, 1].map((index) =>
    context.spawn<WorkerReport>('foreign-board-worker', { path, untilMs, workerId: `worker-${index}` }, { timeoutMs: seconds * 1000 + 60_000 }),
  )
  const reader = mix.pythonReader ? pythonReaderLoop(path, untilMs) : Promise.resolve(undefined)
  const writer = mix.pythonWriter ? pythonWriterLoop(path, untilMs) : Promise.resolve(undefined)
  const shell = mix.shell ? shellLoop(context, path, untilMs) : Promise.resolve(undefined)
  const reports = await Promise.all(workers.map((worker) => worker.result))
  const [readerReport, writerReport, shellReport] = await Promise.all([reader, writer, shell])

  // Invariants.
  for (const report of reports) {
    assert.equal(report.errorCount, 0, `worker ${report.pid} met errors: ${report.errors.join(' | ')}`)
    assert.equal(report.busy, 0, `worker ${report.pid}: SQLITE_BUSY reached a kanban-db caller ${report.busy} times`)
    assert.equal(report.lostLockAudits, 0, `worker ${report.pid} lost its locks on the board (${report.lostLockAudits} of ${report.audits} audits)`)
    assert.equal(report.maxDeletedSidecarFds, 0, `worker ${report.pid} held descriptors on deleted sidecars`)
  }
  const created = [...seeded, ...reports.flatMap((report) => report.created)]
  const completed = reports.flatMap((report) => report.completed)
  assert.equal(new Set(completed).size, completed.length, 'a task was completed twice')
  assert.deepEqual([...completed].sort(), [...created].sort(), 'not every task was completed exactly once')

  const view = await pythonView(path).catch(() => undefined)
  const check = await runPython<{ statuses: Record<string, number>; foreign: string[]; integrity: string[]; journalMode: string }>(
    [
      'import sqlite3, sys, json',
      'c = sqlite3.connect(sys.argv[1], timeout=10)',
      'statuses = dict(c.execute("select status, count(*) from tasks group by status").fetchall())',
      'foreign = [r[0] for r in c.execute("select label from foreign_rows")]',
      'integrity = [r[0] for r in c.execute("pragma integrity_check")]',
      'mode = c.execute("pragma journal_mode").fetchone()[0]',
      'c.close()',
      'print(json.dumps({"statuses": statuses, "foreign": foreign, "integrity": integrity, "journalMode": mode}))',
    ].join('\n'),
    [path],
  )
  void view
  assert.deepEqual(check.statuses, { done: created.length }, `task statuses after the run: ${JSON.stringify(check.statuses)}`)
  assert.deepEqual(check.integrity, ['ok'])
  assert.equal(check.journalMode, 'wal')
  const present = new Set(check.foreign)
  if (writerReport) {
    const lost = writerReport.labels.filter((label) => !present.has(label))
    assert.deepEqual(lost, [], `foreign rows lost: ${lost.length} of ${writerReport.labels.length}`)
    assert.ok(writerReport.labels.length > 0, 'the Python writer committed nothing')
  }
  if (readerReport) assert.ok(readerReport.polls > 0, 'the Python reader never polled')
  if (shellReport) {
    assert.ok(shellReport.backups > 0, 'the shell took no backup')
    assert.deepEqual(shellReport.badChecks, [], `quick_check in the shell reported: ${shellReport.badChecks.join(' | ')}`)
    assert.deepEqual(shellReport.lastBackupIntegrity, ['ok'], 'the last shell backup fails integrity_check')
  }
  const summary = [
    `${completed.length} tasks completed exactly once by 2 ${context.adapter.identity.name} processes (${reports.map((report) => report.audits).join('+')} lock/sidecar audits, all clean, 0 BUSY)`,
    readerReport ? `python reader: ${readerReport.polls} polls, ${readerReport.errors} errors seen by it` : '',
    writerReport ? `python writer: ${writerReport.labels.length} rows, all present (${writerReport.errors} busy/errors seen by it)` : '',
    shellReport ? `sqlite3 shell: ${shellReport.backups} backups + quick_checks, all ok` : '',
  ].filter(Boolean).join('; ')
  context.note(summary)
  return summary
}

async function pythonReaderLoop(path: string, untilMs: number): Promise<{ polls: number; errors: number }> {
  return runPython(
    [
      'import sqlite3, sys, json, time',
      'until = int(sys.argv[2]) / 1000.0',
      'c = sqlite3.connect(sys.argv[1], timeout=10)',
      'polls = errors = 0',
      'while time.time() < until:',
      '    try:',
      '        c.execute("select status, count(*) from tasks group by status").fetchall()',
      '        c.execute("select count(*), max(id) from events").fetchone()',
      '        polls += 1',
      '    except sqlite3.Error:',
      '        errors += 1',
      '    time.sleep(0.05)',
      'c.close()',
      'print(json.dumps({"polls": polls, "errors": errors}))',
    ].join('\n'),
    [path, String(untilMs)],
  )
}

async function pythonWriterLoop(path: string, untilMs: number): Promise<{ labels: string[]; errors: number }> {
  return runPython(
    [
      'import sqlite3, sys, json, time',
      'until = int(sys.argv[2]) / 1000.0',
      'labels = []',
      'errors = 0',
      'n = 0',
      'while time.time() < until:',
      '    c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)',
      '    label = "py-%d" % n',
      '    n += 1',
      '    try:',
      '        c.execute("BEGIN IMMEDIATE")',
      '        c.execute("insert into foreign_rows (label) values (?)", (label,))',
      '        c.execute("COMMIT")',
      '        labels.append(label)',
      '    except sqlite3.Error:',
      '        errors += 1',
      '    c.close()',
      '    time.sleep(0.02)',
      'print(json.dumps({"labels": labels, "errors": errors}))',
    ].join('\n'),
    [path, String(untilMs)],
  )
}

async function shellLoop(context: CaseContext, path: string, untilMs: number): Promise<{ backups: number; badChecks: string[]; lastBackupIntegrity: string[] }> {
  let backups = 0
  const badChecks: string[] = []
  const backupPath = context.path('shell-backup.db')
  while (Date.now() < untilMs) {
    const { stdout } = await run('sqlite3', ['-cmd', '.timeout 10000', path, `.backup '${backupPath}'`, 'PRAGMA quick_check;'])
    const check = stdout.trim()
    if (check !== 'ok') badChecks.push(check.slice(0, 200))
    backups += 1
  }
  const { stdout } = await run('sqlite3', [backupPath, 'PRAGMA integrity_check;'])
  return { backups, badChecks, lastBackupIntegrity: stdout.trim().split('\n') }
}

import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { openBoard } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { loadAdapter } from '@kanban-db/core/internal'
import type { CaseContext } from '../case.js'
import { spawnChildTask } from '../child-process.js'
import { CaseSkipped } from '../strace.js'
import { requirePython, requireSqliteShell, runPython } from './foreign.clients.js'

/**
 * The scenario the `foreign.*` cases share (this file is not a case): two kanban-db worker
 * processes on the adapter under test create, claim and complete tasks on one board for
 * a while, while foreign clients on SQLite 3.40 share the same file; then the invariants.
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
  /**
   * The second kanban-db worker runs on the other bundled adapter (node:sqlite beside better-sqlite3
   * or the other way round), in its own process: two SQLite copies on one board, one per process.
   */
  readonly mixedAdapters?: boolean
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

/** Options for {@link runForeignScenario}. */
export interface ForeignRunOptions {
  /** How long the workers create and complete tasks. Default 10. */
  readonly seconds?: number
  /** The control: every worker reads the database with `fs` once at its start (H2). */
  readonly hazard?: 'fs-read'
  /** Names this run's files and notes. */
  readonly name: string
}

/**
 * Runs the mix and returns every invariant it found broken (empty when the board came through
 * intact): every task completed exactly once, every foreign row present, no lost lock and no
 * descriptor on a deleted sidecar in any kanban-db process, no BUSY surfaced to a kanban-db caller,
 * integrity ok, still WAL, the foreign clients' own checks ok.
 */
export async function runForeignScenario(context: CaseContext, mix: ForeignMix, options: ForeignRunOptions): Promise<string[]> {
  if (mix.pythonReader || mix.pythonWriter) requirePython()
  if (mix.shell) requireSqliteShell()
  const seconds = options.seconds ?? 10
  const path = context.path(`${options.name}.db`)
  const board = await openBoard({ path, adapter: context.adapter })
  const seeded = (await board.createTasks(Array.from({ length: 200 }, (_, index) => ({ title: `seed ${index}` })))).map((task) => task.id)
  await board.close()
  await runPython<null>(
    ['import sqlite3, sys', 'c = sqlite3.connect(sys.argv[1], timeout=10)', 'c.execute("create table foreign_rows (id integer primary key, label text not null unique)")', 'c.commit()', 'c.close()', 'print("null")'].join('\n'),
    [path],
  )

  const otherModule = mix.mixedAdapters ? await otherBundledAdapter(context.adapter) : undefined
  const untilMs = Date.now() + seconds * 1000
  const workers = [0, 1].map((index) => {
    const args = { path, untilMs, workerId: `worker-${index}`, hazard: options.hazard }
    const timeoutMs = seconds * 1000 + 60_000
    if (index === 1 && otherModule) return spawnChildTask<WorkerReport>('foreign-board-worker', args, { moduleName: otherModule, timeoutMs })
    return context.spawn<WorkerReport>('foreign-board-worker', args, { timeoutMs })
  })
  const broken: string[] = []
  // The foreign loops never reject (a failure is a broken invariant) and are always awaited, so none
  // outlives the case or its scratch directory.
  const settle = <T>(name: string, loop: Promise<T>) =>
    loop.catch((error: unknown) => {
      broken.push(`the ${name} failed: ${(error as Error).message.split('\n').slice(-2).join(' ').trim()}`)
      return undefined
    })
  const reader = mix.pythonReader ? settle('Python reader', pythonReaderLoop(path, untilMs)) : Promise.resolve(undefined)
  const writer = mix.pythonWriter ? settle('Python writer', pythonWriterLoop(path, untilMs)) : Promise.resolve(undefined)
  const shell = mix.shell ? settle('sqlite3 shell loop', shellLoop(context, `${options.name}-backup.db`, path, untilMs)) : Promise.resolve(undefined)
  const settled = await Promise.allSettled(workers.map((worker) => worker.result))
  await Promise.all(workers.map((worker) => worker.kill())) // reaps the worker the case's registry does not track
  const [readerReport, writerReport, shellReport] = await Promise.all([reader, writer, shell])
  const reports: WorkerReport[] = []
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') reports.push(outcome.value)
    else broken.push(`a kanban-db worker died: ${(outcome.reason as Error).message.slice(0, 300)}`)
  }

  for (const report of reports) {
    if (report.errorCount > 0) broken.push(`worker ${report.pid} met ${report.errorCount} errors (${report.errors.slice(0, 2).join(' | ')})`)
    if (report.busy > 0) broken.push(`worker ${report.pid}: SQLITE_BUSY reached a kanban-db caller ${report.busy} times`)
    if (report.lostLockAudits > 0) broken.push(`worker ${report.pid} lost its locks on the board (${report.lostLockAudits} of ${report.audits} audits)`)
    if (report.maxDeletedSidecarFds > 0) broken.push(`worker ${report.pid} held descriptors on deleted sidecars`)
  }
  const created = [...seeded, ...reports.flatMap((report) => report.created)]
  const completed = reports.flatMap((report) => report.completed)
  if (new Set(completed).size !== completed.length) broken.push('a task was completed twice')

  let check: { statuses: Record<string, number>; foreign: string[]; integrity: string[]; journalMode: string } | undefined
  try {
    check = await runPython(
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
  } catch (error) {
    broken.push(`a fresh Python process could not read the board: ${(error as Error).message.split('\n')[0]}`)
  }
  if (check) {
    const done = check.statuses.done ?? 0
    if (done !== created.length || Object.keys(check.statuses).some((status) => status !== 'done')) {
      broken.push(`${created.length} tasks created, a fresh process sees ${JSON.stringify(check.statuses)}`)
    }
    const missingCompletions = created.filter((id) => !completed.includes(id)).length
    if (missingCompletions > 0) broken.push(`${missingCompletions} tasks were never completed`)
    if (check.integrity.join() !== 'ok') broken.push(`integrity_check: ${check.integrity.slice(0, 2).join('; ')}`)
    if (check.journalMode !== 'wal') broken.push(`journal_mode is ${check.journalMode}`)
    if (writerReport) {
      const present = new Set(check.foreign)
      const lost = writerReport.labels.filter((label) => !present.has(label))
      if (lost.length > 0) broken.push(`${lost.length} of ${writerReport.labels.length} foreign rows lost`)
    }
  }
  if (writerReport && writerReport.labels.length === 0) broken.push('the Python writer committed nothing')
  if (readerReport && readerReport.polls === 0) broken.push('the Python reader never polled')
  if (shellReport) {
    if (shellReport.backups === 0) broken.push('the shell took no backup')
    if (shellReport.badChecks.length > 0) broken.push(`quick_check in the shell reported: ${shellReport.badChecks.slice(0, 2).join(' | ')}`)
    if (shellReport.lastBackupIntegrity.join() !== 'ok') broken.push('the last shell backup fails integrity_check')
  }
  context.note(
    `${options.name}: ` +
      [
        `${completed.length} of ${created.length} tasks completed by 2 processes on ${context.adapter.identity.name}${otherModule ? ` and ${otherModule}` : ''} (${reports.map((report) => report.audits).join('+')} lock/sidecar audits)`,
        readerReport ? `python reader ${readerReport.polls} polls (${readerReport.errors} errors seen by it)` : '',
        writerReport ? `python writer ${writerReport.labels.length} rows (${writerReport.errors} errors seen by it)` : '',
        shellReport ? `sqlite3 shell ${shellReport.backups} backups + quick_checks` : '',
      ].filter(Boolean).join('; ') +
      ` -> ${broken.join('; ') || 'every invariant held'}`,
  )
  return broken
}

/**
 * A foreign case: first the control (every kanban-db worker drops its locks with an `fs` read at its
 * start, H2) must break an invariant, so the checks can see damage under this mix; then the real
 * run must break none.
 */
export async function foreignCase(context: CaseContext, mix: ForeignMix): Promise<void> {
  const control = await runForeignScenario(context, mix, { name: 'control', seconds: 3, hazard: 'fs-read' })
  if (control.length === 0) throw new Error('control did not reproduce the hazard: with every worker doing an fs read of the board, no invariant broke')
  const broken = await runForeignScenario(context, mix, { name: 'protected', seconds: 10 })
  assert.deepEqual(broken, [], `invariants broken beside foreign clients: ${broken.join('; ')}`)
}

/** The module name of a bundled adapter with a different SQLite copy than `adapter`'s, or a skip. */
async function otherBundledAdapter(adapter: SqliteAdapter): Promise<string> {
  const candidates = ['@kanban-db/adapter-node-sqlite', '@kanban-db/adapter-better-sqlite3']
  for (const moduleName of candidates) {
    if (moduleName === adapter.identity.moduleName) continue
    try {
      const other = await loadAdapter(moduleName)
      if (other.capabilities.sharedFile && other.identity.sqliteCopy !== adapter.identity.sqliteCopy) return moduleName
    } catch {
      // Not installed next to this adapter: try the next one.
    }
  }
  throw new CaseSkipped(`no second bundled adapter (${candidates.join(' or ')}) can be loaded beside ${adapter.identity.name}`)
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
      '    label = "py-%d" % n',
      '    n += 1',
      '    c = None',
      '    try:',
      '        c = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)',
      '        c.execute("BEGIN IMMEDIATE")',
      '        c.execute("insert into foreign_rows (label) values (?)", (label,))',
      '        c.execute("COMMIT")',
      '        labels.append(label)',
      '    except sqlite3.Error:',
      '        errors += 1',
      '    if c is not None:',
      '        c.close()',
      '    time.sleep(0.02)',
      'print(json.dumps({"labels": labels, "errors": errors}))',
    ].join('\n'),
    [path, String(untilMs)],
  )
}

async function shellLoop(context: CaseContext, backupName: string, path: string, untilMs: number): Promise<{ backups: number; badChecks: string[]; lastBackupIntegrity: string[] }> {
  let backups = 0
  const badChecks: string[] = []
  const backupPath = context.path(backupName)
  while (Date.now() < untilMs) {
    let check: string
    try {
      check = (await run('sqlite3', ['-cmd', '.timeout 10000', path, `.backup '${backupPath}'`, 'PRAGMA quick_check;'])).stdout.trim()
    } catch (error) {
      check = `the shell failed: ${(error as Error).message.split('\n')[0]}`
    }
    if (check !== 'ok') badChecks.push(check.slice(0, 200))
    backups += 1
  }
  let lastBackupIntegrity: string[]
  try {
    lastBackupIntegrity = (await run('sqlite3', [backupPath, 'PRAGMA integrity_check;'])).stdout.trim().split('\n')
  } catch (error) {
    lastBackupIntegrity = [`the shell failed: ${(error as Error).message.split('\n')[0]}`]
  }
  return { backups, badChecks, lastBackupIntegrity }
}

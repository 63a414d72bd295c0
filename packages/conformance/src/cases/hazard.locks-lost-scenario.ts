import { realpathSync } from 'node:fs'
import { KanbanDbError } from '@kanban-db/core'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import {
  assertLocksHeld, auditLocks, auditSidecars, lockAuditCapability, openHygienicConnection, resolvePolicy,
  type HygienicConnection,
} from '@kanban-db/core/internal'
import type { CaseContext } from '../case.js'
import { CaseSkipped } from '../strace.js'
import { pythonCloser, pythonView, pythonWriter, requirePython } from './foreign.clients.js'

/**
 * The scenario both `hazard.locks-lost-*` cases run (this file is not a case). A board is held open
 * in this process and has committed rows; then the hazard drops this process's POSIX locks on it
 * (H1: a second SQLite copy's close; H2: an fs read of the file). After that a 3.40 closer (Python's
 * sqlite3) opens, reads and closes; this process commits more rows; a 3.40 writer commits rows of its
 * own; this process closes; a fresh process reads what is left.
 *
 * With the audit switched off (the control) rows are lost. With it on, the audit raises `LocksLost`
 * right after the hazard, before any other process runs; the remedy (close every connection to the
 * file in this process, open again) takes the locks afresh, and the same sequence loses nothing.
 */

const policy = resolvePolicy()
const boardOptions = {
  policy,
  initialise: (connection: SqliteConnection) => connection.exec('create table if not exists items (id integer primary key, label text not null)'),
  isInitialised: (connection: SqliteConnection) => connection.prepare("select 1 from sqlite_master where name = 'items'").all([]).length > 0,
}

/** Skips unless the platform can audit locks and an old-SQLite client is installed. */
export function requireLockAuditAndPython(): void {
  const capability = lockAuditCapability()
  if (!capability.supported) throw new CaseSkipped(capability.reason ?? 'lost-lock detection is not available here')
  requirePython()
}

/** Runs the scenario once; returns the damage found (empty when nothing was lost). */
export async function locksLostScenario(
  context: CaseContext,
  mode: 'control' | 'protected',
  hazard: (path: string) => Promise<void>,
): Promise<string[]> {
  const path = context.path(`${mode}.db`)
  let board: HygienicConnection = await openHygienicConnection(context.adapter, path, boardOptions)
  const expected: string[] = []
  let deletedFds = 0
  try {
    expected.push(...insert(board, `${mode}-before`, 10))
    const before = auditLocks({ path })
    if (before.missing.length > 0) {
      throw new Error(`the audit does not see this adapter's locks before the hazard (missing ${before.missing.join(', ')}): the case cannot tell anything`)
    }

    await hazard(path)

    if (mode === 'protected') {
      let raised: unknown
      try {
        assertLocksHeld({ path })
      } catch (error) {
        raised = error
      }
      if (!(KanbanDbError.isKanbanDbError(raised) && raised.code === 'LOCKS_LOST')) {
        throw new Error(`the audit did not raise LocksLost after the hazard (got ${String(raised)})`)
      }
      context.note(`protected: LocksLost before any other process ran (missing ${(raised.details.missing as string[]).join(', ')}); reopening`)
      board.close()
      board = await openHygienicConnection(context.adapter, path, boardOptions)
      const after = auditLocks({ path })
      if (after.missing.length > 0) throw new Error(`reopening did not restore the locks (missing ${after.missing.join(', ')})`)
    } else {
      context.note(`control: audit off; it would have reported missing ${auditLocks({ path }).missing.join(', ') || 'nothing'}`)
    }

    await pythonCloser(path)
    expected.push(...insert(board, `${mode}-after`, 10))
    expected.push(...(await pythonWriter(path, Array.from({ length: 5 }, (_, index) => `${mode}-foreign-${index}`))))
    deletedFds = auditSidecars(realpathSync(path))?.deletedSidecarFds ?? 0
  } finally {
    board.close()
  }
  const view = await pythonView(path)
  const present = new Set(view.labels)
  const damage: string[] = []
  const missing = expected.filter((label) => !present.has(label))
  if (missing.length > 0) damage.push(`a fresh process misses ${missing.length} of ${expected.length} committed rows (${missing.slice(0, 3).join(', ')}...)`)
  if (deletedFds > 0) damage.push(`${deletedFds} descriptor(s) on deleted -wal/-shm in this process`)
  if (view.integrity.join() !== 'ok') damage.push(`integrity_check: ${view.integrity.slice(0, 2).join('; ')}`)
  if (view.journalMode !== 'wal') damage.push(`journal_mode is ${view.journalMode}`)
  context.note(`${mode}: ${damage.join('; ') || 'no damage'}`)
  return damage
}

function insert(board: HygienicConnection, prefix: string, count: number): string[] {
  const statement = board.connection.prepare('insert into items (label) values (?)')
  const labels: string[] = []
  for (let index = 0; index < count; index += 1) {
    const label = `${prefix}-${index}`
    board.connection.exec('BEGIN IMMEDIATE')
    statement.run([label])
    board.connection.exec('COMMIT')
    labels.push(label)
  }
  return labels
}

import { strict as assert } from 'node:assert'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { loadAdapter } from '@kanban-db/core/internal'
import type { ConformanceCase } from '../case.js'
import { CaseSkipped } from '../strace.js'
import { locksLostScenario, requireLockAuditAndPython } from './hazard.locks-lost-scenario.js'

/**
 * H1 detected: a second SQLite copy in the same process (node:sqlite beside better-sqlite3, or the
 * other way round) opens the live board, runs one query and closes; that close drops the board
 * connection's POSIX locks and unlinks the sidecars. Control (audit off): rows are lost. Protected:
 * the audit raises LocksLost before any other process runs, the reopen restores both locks, and the
 * same sequence loses nothing.
 */
export const locksLostSecondCopy: ConformanceCase = {
  id: 'hazard.locks-lost-second-copy',
  title: 'a second SQLite copy closing in-process drops the locks (H1): the lock audit raises LocksLost at once, a reopen restores them, nothing lost (control: rows lost)',
  tier: 'corruption',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 90_000,
  async run(context) {
    requireLockAuditAndPython()
    const other = await secondCopy(context.adapter, context.resolveFrom)
    context.note(`second copy: ${other.identity.name} (SQLite ${other.identity.sqliteVersion}) beside ${context.adapter.identity.name}`)
    // The hazard: the other copy opens the board raw (as foreign code in the process would), queries, closes.
    const hazard = async (path: string) => {
      const connection = await other.open(path)
      connection.prepare('select count(*) from items').all([])
      connection.close()
    }
    const control = await locksLostScenario(context, 'control', hazard)
    if (control.length === 0) throw new Error('control did not reproduce the hazard: with the audit off, nothing was lost')
    const protectedRun = await locksLostScenario(context, 'protected', hazard)
    assert.deepEqual(protectedRun, [], `with the audit and the reopen, damage remained: ${protectedRun.join('; ')}`)
  },
}

/** A bundled adapter whose SQLite copy differs from `adapter`'s. */
async function secondCopy(adapter: SqliteAdapter, resolveFrom: string): Promise<SqliteAdapter> {
  const candidates = ['@kanban-db/adapter-node-sqlite', '@kanban-db/adapter-better-sqlite3']
  for (const moduleName of candidates) {
    if (moduleName === adapter.identity.moduleName) continue
    try {
      const other = await loadAdapter(moduleName, resolveFrom)
      if (other.capabilities.sharedFile && other.identity.sqliteCopy !== adapter.identity.sqliteCopy) return other
    } catch {
      // Not installed next to this adapter: try the next one.
    }
  }
  throw new CaseSkipped(
    `needs a second bundled adapter with another SQLite copy in the same process, and none is installed here: neither ${candidates.join(' nor ')} ` +
      `can be loaded from ${resolveFrom} (or has a copy other than ${adapter.identity.name}'s). Not a capability the adapter lacks: install one of them beside it to run this case.`,
  )
}

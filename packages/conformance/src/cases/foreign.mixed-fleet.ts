import type { ConformanceCase } from '../case.js'
import { foreignCase } from './foreign.scenario.js'

/**
 * Everything a mixed deployment runs at once on one board: kanban-db workers on better-sqlite3 and on
 * node:sqlite (one per process), a Python sqlite3 reader and writer, and the sqlite3 shell's backup
 * and quick_check loop, all SQLite 3.40 on the foreign side.
 */
export const foreignMixedFleet: ConformanceCase = {
  id: 'foreign.mixed-fleet',
  title: 'kanban-db workers on better-sqlite3 and node:sqlite (one per process) with a Python reader, a Python writer and the sqlite3 shell, 10 s: every invariant holds',
  tier: 'foreign',
  requires: ['sharedFile', 'wal', 'crossProcessLock'],
  timeoutMs: 150_000,
  async run(context) {
    await foreignCase(context, { mixedAdapters: true, pythonReader: true, pythonWriter: true, shell: true })
  },
}

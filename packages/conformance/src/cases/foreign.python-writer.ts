import type { ConformanceCase } from '../case.js'
import { foreignCase } from './foreign.scenario.js'

/**
 * Python's sqlite3 (3.40) adding rows in its own BEGIN IMMEDIATE transactions, a new connection per
 * row (so an old-SQLite process closes dozens of times), beside two kanban-db worker processes.
 */
export const foreignPythonWriter: ConformanceCase = {
  id: 'foreign.python-writer',
  title: 'a Python sqlite3 3.40 writer (BEGIN IMMEDIATE, a connection per row) beside 2 kanban-db workers for 10 s: every foreign row present, every task done once, no lost lock, no BUSY, integrity ok',
  tier: 'foreign',
  requires: ['sharedFile', 'wal', 'crossProcessLock'],
  timeoutMs: 150_000,
  async run(context) {
    await foreignCase(context, { pythonWriter: true, pythonReader: true })
  },
}

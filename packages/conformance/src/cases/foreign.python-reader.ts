import type { ConformanceCase } from '../case.js'
import { foreignCase } from './foreign.scenario.js'

/** Python's sqlite3 (3.40) polling task and event counts every 50 ms beside two kanban-db worker processes. */
export const foreignPythonReader: ConformanceCase = {
  id: 'foreign.python-reader',
  title: 'a Python sqlite3 3.40 reader polling every 50 ms beside 2 kanban-db workers for 10 s: every task done once, no lost lock, no deleted sidecar fd, no BUSY, integrity ok, still WAL',
  tier: 'foreign',
  requires: ['sharedFile', 'wal', 'crossProcessLock'],
  timeoutMs: 150_000,
  async run(context) {
    await foreignCase(context, { pythonReader: true })
  },
}

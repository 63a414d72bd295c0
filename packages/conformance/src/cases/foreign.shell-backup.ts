import type { ConformanceCase } from '../case.js'
import { foreignCase } from './foreign.scenario.js'

/** Debian's sqlite3 shell (3.40) taking `.backup` and `PRAGMA quick_check` in a loop beside two kanban-db workers. */
export const foreignShellBackup: ConformanceCase = {
  id: 'foreign.shell-backup',
  title: 'the sqlite3 3.40 shell running .backup and quick_check in a loop beside 2 kanban-db workers for 10 s: every check ok, every task done once, no lost lock, no deleted sidecar fd, no BUSY',
  tier: 'foreign',
  requires: ['sharedFile', 'wal', 'crossProcessLock'],
  timeoutMs: 150_000,
  async run(context) {
    await foreignCase(context, { shell: true })
  },
}

import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { percentile } from '../stats.ts'
import { Database, openRaw, rawTasksSchema } from './raw-database.ts'

/**
 * `raw-open`: open an existing WAL database with the raw driver, probe the journal mode, set the
 * same pragmas the board's policy sets, read `user_version`. p50 and p99 over `options.opens` runs
 * (200 outside smoke mode). Close is not timed.
 */
export function rawOpen(): Contender {
  return {
    id: 'raw-open',
    description: 'better-sqlite3 open + journal probe + pragmas + user_version of an existing WAL file; ms',
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const path = join(context.dir, 'raw-open.db')
      const setup = openRaw(path, 'FULL')
      setup.exec(rawTasksSchema)
      setup.pragma('user_version = 1')
      // Keep one connection open, as on a live board: the sidecars stay, opens find a WAL file.
      try {
        const times: number[] = []
        for (let i = 0; i < context.options.opens; i++) {
          const start = now()
          const db = new Database(path, { timeout: 5000 })
          if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') db.pragma('journal_mode = WAL')
          db.pragma('busy_timeout = 5000')
          db.pragma('synchronous = FULL')
          db.pragma('foreign_keys = ON')
          db.pragma('secure_delete = ON')
          db.pragma('cell_size_check = ON')
          db.pragma('wal_autocheckpoint = 1000')
          const version = db.pragma('user_version', { simple: true })
          times.push(now() - start)
          db.close()
          if (version !== 1) return { figures: {}, failures: [`raw-open read user_version ${String(version)}, expected 1`] }
        }
        return {
          figures: { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) },
          failures: [],
          samples: { openMs: times },
        }
      } finally {
        setup.close()
      }
    },
  }
}

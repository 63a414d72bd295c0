import { join } from 'node:path'
import { now } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { openRaw, rawId, rawTasksSchema, type Synchronous } from './raw-database.ts'

/**
 * `raw-insert`: the raw driver, one prepared single-row INSERT per BEGIN IMMEDIATE / COMMIT.
 * `raw-tx100`: the same INSERT, 100 rows per transaction (rows per second).
 */
export function rawInsert(synchronous: Synchronous, rowsPerTransaction: 1 | 100): Contender {
  const name = rowsPerTransaction === 1 ? 'raw-insert' : 'raw-tx100'
  return {
    id: `${name}/${synchronous}`,
    description: `better-sqlite3, ${rowsPerTransaction === 1 ? 'one row' : '100 rows'} per BEGIN IMMEDIATE/COMMIT, ${synchronous}; rows per second`,
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const db = openRaw(join(context.dir, `${name}.db`), synchronous)
      try {
        db.exec(rawTasksSchema)
        const begin = db.prepare('BEGIN IMMEDIATE')
        const commit = db.prepare('COMMIT')
        const insert = db.prepare(
          "INSERT INTO tasks (id, title, body, status, priority, created_at, updated_at) VALUES (?, ?, ?, 'ready', ?, ?, ?)",
        )
        let rows = 0
        const start = now()
        const end = start + context.durationMs
        let t = start
        while (t < end) {
          begin.run()
          for (let i = 0; i < rowsPerTransaction; i++) {
            const stamp = Date.now()
            insert.run(rawId(), `task ${rows}`, 'body', rows % 5, stamp, stamp)
            rows++
          }
          commit.run()
          t = now()
        }
        return { figures: { perSecond: (rows * 1000) / (t - start) }, failures: [] }
      } finally {
        db.close()
      }
    },
  }
}

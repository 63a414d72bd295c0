import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'
import { migrations } from '@kanban-db/core/internal'

const require = createRequire(import.meta.url)

/** better-sqlite3, loaded the way the adapter loads it (one native copy per process). */
export const Database = require('better-sqlite3') as typeof BetterSqlite3

/** The synchronous levels the bench compares. */
export type Synchronous = 'NORMAL' | 'FULL'

/**
 * Which rows a raw loop writes: `tasks`, the tasks table alone (two single-row UPDATEs per cycle,
 * `raw-claim`'s loop), or `board`, the board's own statements and rows (`raw-board`'s loop: run
 * rows, events, the due and dependents selects, on a file `openBoard` created).
 */
export type RawRows = 'tasks' | 'board'

/** The pragmas a raw baseline reads back after setting them. */
export interface RawPragmas {
  readonly journal_mode: string
  readonly synchronous: number
  readonly busy_timeout: number
}

/**
 * Opens `path` with the raw driver the way a careful hand-written program would: WAL, then
 * `synchronous`, then busy_timeout, and checks they read back (after a transaction, because
 * better-sqlite3 reads back FULL right after switching to WAL and then drops to NORMAL).
 */
export function openRaw(path: string, synchronous: Synchronous, busyTimeoutMs = 5000): BetterSqlite3.Database {
  const db = new Database(path, { timeout: busyTimeoutMs })
  if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal') db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous}`)
  db.pragma(`busy_timeout = ${busyTimeoutMs}`)
  db.exec('BEGIN IMMEDIATE; COMMIT')
  const pragmas = readRawPragmas(db)
  const expected = synchronous === 'FULL' ? 2 : 1
  if (pragmas.journal_mode !== 'wal' || pragmas.synchronous !== expected) {
    db.close()
    throw new Error(`raw baseline pragmas read back as ${JSON.stringify(pragmas)}, expected wal / ${expected}`)
  }
  return db
}

/** The pragmas in force on `db`. */
export function readRawPragmas(db: BetterSqlite3.Database): RawPragmas {
  return {
    journal_mode: String(db.pragma('journal_mode', { simple: true })).toLowerCase(),
    synchronous: Number(db.pragma('synchronous', { simple: true })),
    busy_timeout: Number(db.pragma('busy_timeout', { simple: true })),
  }
}

/**
 * The board's own tasks table and every index on it, taken from `@kanban-db/core`'s migrations (so
 * the raw claim loop pays for the same row width and index maintenance a board claim pays for, and
 * nothing else: no run rows, no events, no other tables).
 */
export const rawTasksSchema: string = migrations
  .flatMap((migration) => migration.sql.split(';'))
  .map((statement) => statement.trim())
  .filter((statement) => /^(CREATE TABLE( IF NOT EXISTS)? tasks\b|ALTER TABLE tasks\b|CREATE INDEX( IF NOT EXISTS)? \w+ ON tasks\b|DROP INDEX( IF EXISTS)? tasks_\w+)/i.test(statement))
  .map((statement) => `${statement};`)
  .join('\n')

let sequence = 0
/** A new row id for the raw baselines: unique in this process, time-ordered like the board's. */
export function rawId(): string {
  return `t${Date.now().toString(36)}${(sequence++).toString(36).padStart(8, '0')}${process.pid.toString(36)}`
}

import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'

const require = createRequire(import.meta.url)

/** better-sqlite3, loaded the way the adapter loads it (one native copy per process). */
export const Database = require('better-sqlite3') as typeof BetterSqlite3

/** The synchronous levels the bench compares. */
export type Synchronous = 'NORMAL' | 'FULL'

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
 * The board's tasks table (schema version 1 of @kanban-db/core) with its ready-queue index: the
 * "equivalent schema" the raw claim loop runs on, so the raw loop pays for the same row width and
 * index maintenance a board claim pays for, and nothing else (no run rows, no events).
 */
export const rawTasksSchema = `
  CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    assignee TEXT,
    created_by TEXT,
    idempotency_key TEXT UNIQUE,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    completed_at INTEGER,
    claim_token TEXT,
    claimed_by TEXT,
    worker_pid INTEGER,
    worker_host TEXT,
    claimed_at INTEGER,
    claim_expires_at INTEGER,
    lease_ms INTEGER,
    heartbeat_at INTEGER,
    current_run_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    result TEXT,
    last_error TEXT,
    block_reason TEXT
  );
  CREATE INDEX IF NOT EXISTS tasks_ready_queue ON tasks (priority DESC, created_at, id) WHERE status = 'ready';
  CREATE INDEX IF NOT EXISTS tasks_running_expiry ON tasks (claim_expires_at) WHERE status = 'running';
  CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, created_at, id);
`

let sequence = 0
/** A new row id for the raw baselines: unique in this process, time-ordered like the board's. */
export function rawId(): string {
  return `t${Date.now().toString(36)}${(sequence++).toString(36).padStart(8, '0')}${process.pid.toString(36)}`
}

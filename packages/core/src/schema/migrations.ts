import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { SchemaMismatch } from '../errors/errors.js'

/** One forward-only schema step. `sql` must be safe to run on a file that already has it. */
export interface Migration {
  /** The `PRAGMA user_version` the file has after this step. */
  readonly version: number
  /** What the step does, for people. */
  readonly description: string
  /** A script of statements (no parameters). */
  readonly sql: string
}

/**
 * Every migration, in order. Append new steps; never edit a released one. The SQL is kept portable
 * where SQLite allows (a Postgres adapter will get its own copy of these steps).
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'tasks, dependencies, runs, events, comments and the hot-path indexes',
    sql: `
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
      CREATE INDEX IF NOT EXISTS tasks_ready_queue ON tasks (status, priority DESC, created_at, id);
      CREATE INDEX IF NOT EXISTS tasks_running_expiry ON tasks (status, claim_expires_at);
      CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, created_at, id);

      CREATE TABLE IF NOT EXISTS task_dependencies (
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        depends_on_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (task_id, depends_on_id),
        CHECK (task_id <> depends_on_id)
      );
      CREATE INDEX IF NOT EXISTS task_dependencies_dependents ON task_dependencies (depends_on_id);

      CREATE TABLE IF NOT EXISTS task_runs (
        id TEXT PRIMARY KEY NOT NULL,
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        worker_id TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        claim_token TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER,
        ended_at INTEGER,
        outcome TEXT,
        error TEXT
      );
      CREATE INDEX IF NOT EXISTS task_runs_by_task ON task_runs (task_id, attempt);

      CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        run_id TEXT,
        kind TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT,
        payload TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS events_by_task ON events (task_id, id);

      CREATE TABLE IF NOT EXISTS comments (
        id TEXT PRIMARY KEY NOT NULL,
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        author TEXT,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS comments_by_task ON comments (task_id, created_at);
    `,
  },
  {
    version: 2,
    description: 'failure accounting, block loops, scheduled/review/triage fields, tenants, max runtime, attachments, subscriptions',
    sql: `
      ALTER TABLE tasks ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tasks ADD COLUMN max_retries INTEGER;
      ALTER TABLE tasks ADD COLUMN block_kind TEXT;
      ALTER TABLE tasks ADD COLUMN block_recurrences INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tasks ADD COLUMN due_at INTEGER;
      ALTER TABLE tasks ADD COLUMN tenant TEXT;
      ALTER TABLE tasks ADD COLUMN max_runtime_ms INTEGER;
      ALTER TABLE tasks ADD COLUMN review_requested_by TEXT;
      ALTER TABLE tasks ADD COLUMN review_summary TEXT;
      ALTER TABLE tasks ADD COLUMN review_rejections INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX IF NOT EXISTS tasks_scheduled_due ON tasks (status, due_at);
      CREATE INDEX IF NOT EXISTS tasks_by_tenant ON tasks (tenant, status);

      CREATE TABLE IF NOT EXISTS attachments (
        id TEXT PRIMARY KEY NOT NULL,
        task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        uri TEXT NOT NULL,
        media_type TEXT,
        size_bytes INTEGER,
        sha256 TEXT,
        created_by TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS attachments_by_task ON attachments (task_id, created_at);

      CREATE TABLE IF NOT EXISTS subscriptions (
        id TEXT PRIMARY KEY NOT NULL,
        last_event_id INTEGER NOT NULL DEFAULT 0,
        lease_token TEXT,
        lease_expires_at INTEGER,
        lease_until_event_id INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: 'partial indexes: a status change touches only the indexes of the statuses it leaves and enters',
    sql: `
      DROP INDEX IF EXISTS tasks_ready_queue;
      CREATE INDEX tasks_ready_queue ON tasks (status, priority DESC, created_at, id) WHERE status = 'ready';
      DROP INDEX IF EXISTS tasks_running_expiry;
      CREATE INDEX tasks_running_expiry ON tasks (status, claim_expires_at) WHERE status = 'running' OR status = 'review';
      DROP INDEX IF EXISTS tasks_scheduled_due;
      CREATE INDEX tasks_scheduled_due ON tasks (status, due_at) WHERE status = 'scheduled';
      DROP INDEX IF EXISTS tasks_by_tenant;
      CREATE INDEX tasks_by_tenant ON tasks (tenant, status) WHERE tenant IS NOT NULL;
    `,
  },
  {
    version: 4,
    description: 'not_before: a ready task retried after a backoff, or requeued after a rate limit, is not claimed before it',
    sql: `
      ALTER TABLE tasks ADD COLUMN not_before INTEGER;
    `,
  },
  {
    version: 5,
    description:
      'runs keep their role, summary, result and metadata; comments and attachments keep insertion order (seq); subscriptions scoped to a task and filtered by kind; an archived task frees its idempotency key',
    sql: `
      ALTER TABLE task_runs ADD COLUMN role TEXT NOT NULL DEFAULT 'work';
      ALTER TABLE task_runs ADD COLUMN summary TEXT;
      ALTER TABLE task_runs ADD COLUMN result TEXT;
      ALTER TABLE task_runs ADD COLUMN metadata TEXT;

      ALTER TABLE comments ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
      UPDATE comments SET seq = (
        SELECT count(*) FROM comments AS earlier
        WHERE earlier.task_id = comments.task_id
          AND (earlier.created_at < comments.created_at OR (earlier.created_at = comments.created_at AND earlier.id <= comments.id))
      );
      CREATE INDEX comments_in_order ON comments (task_id, seq);
      ALTER TABLE attachments ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
      UPDATE attachments SET seq = (
        SELECT count(*) FROM attachments AS earlier
        WHERE earlier.task_id = attachments.task_id
          AND (earlier.created_at < attachments.created_at OR (earlier.created_at = attachments.created_at AND earlier.id <= attachments.id))
      );
      CREATE INDEX attachments_in_order ON attachments (task_id, seq);

      ALTER TABLE subscriptions ADD COLUMN task_id TEXT;
      ALTER TABLE subscriptions ADD COLUMN kinds TEXT;

      ALTER TABLE tasks ADD COLUMN archived_idempotency_key TEXT;
      UPDATE tasks SET archived_idempotency_key = idempotency_key, idempotency_key = NULL WHERE status = 'archived' AND idempotency_key IS NOT NULL;
    `,
  },
]

/** The schema version this code writes and expects. */
export const LATEST_SCHEMA_VERSION: number = migrations[migrations.length - 1]!.version

/** `PRAGMA user_version` of the connection's database. */
export function readSchemaVersion(connection: SqliteConnection): number {
  const row = connection.prepare('PRAGMA user_version').all([])[0]
  return Number(row === undefined ? 0 : Object.values(row)[0])
}

/** True when the file is at {@link LATEST_SCHEMA_VERSION} (the open policy then skips the init lock). */
export function isSchemaCurrent(connection: SqliteConnection): boolean {
  return readSchemaVersion(connection) === LATEST_SCHEMA_VERSION
}

/**
 * Brings the file up to {@link LATEST_SCHEMA_VERSION}. Each step runs in its own BEGIN IMMEDIATE
 * transaction together with its `user_version` bump, and re-reads the version inside the
 * transaction, so running this twice, or in two processes at once, applies each step exactly once.
 * Refuses a file newer than this code (`SchemaMismatch`): migrations are forward-only.
 */
export function migrate(connection: SqliteConnection): void {
  assertNotNewer(connection, readSchemaVersion(connection))
  for (const migration of migrations) {
    connection.exec('BEGIN IMMEDIATE')
    try {
      const current = readSchemaVersion(connection)
      assertNotNewer(connection, current)
      if (current < migration.version) {
        connection.exec(migration.sql)
        connection.exec(`PRAGMA user_version = ${migration.version}`)
      }
      connection.exec('COMMIT')
    } catch (error) {
      try {
        if (connection.inTransaction) connection.exec('ROLLBACK')
      } catch {
        // SQLite already rolled back (after an I/O error): the original error is what matters.
      }
      throw error
    }
  }
}

/** Throws `SchemaMismatch` when the file was written by a newer kanban-db. */
export function assertNotNewer(connection: SqliteConnection, version: number): void {
  if (version > LATEST_SCHEMA_VERSION) {
    throw new SchemaMismatch(
      `The board ${connection.path} has schema version ${version}, newer than this kanban-db knows (${LATEST_SCHEMA_VERSION}). ` +
        'Upgrade @kanban-db/core in this program; the file was not changed.',
      { details: { path: connection.path, version, latest: LATEST_SCHEMA_VERSION } },
    )
  }
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'

/**
 * A realistic `kanban.db` of the Python agent gateway's board (NousResearch/hermes-agent), written
 * by Python's own `sqlite3` module (SQLite 3.40.1 here, the library that board runs on), in WAL or
 * rollback-journal mode. The schema is written here from the column facts of
 * `docs/reference-board.md` and the board's source (tables tasks, task_links,
 * task_comments, task_events, task_runs, task_attachments, kanban_notify_subs; times in seconds; no
 * foreign keys). Rows cover every status, links (one dangling, one closing a cycle), comments (two
 * in one second), events of many kinds, runs with every outcome, attachments and subscriptions,
 * plus malformed rows the importer must report.
 */

export const PYTHON = 'python3'

/** Why the fixture cannot be built here, or undefined. */
export const fixtureSkip: string | undefined = (() => {
  const probe = spawnSync(PYTHON, ['-c', 'import sqlite3; print(sqlite3.sqlite_version)'], { encoding: 'utf8' })
  return probe.status === 0 ? undefined : `no ${PYTHON} with its sqlite3 module (the Python board's own client) on this machine`
})()

const SCHEMA = `
CREATE TABLE tasks (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT, assignee TEXT, status TEXT NOT NULL,
  priority INTEGER DEFAULT 0, created_by TEXT, created_at INTEGER NOT NULL, started_at INTEGER,
  completed_at INTEGER, workspace_kind TEXT NOT NULL DEFAULT 'scratch', workspace_path TEXT,
  branch_name TEXT, project_id TEXT, claim_lock TEXT, claim_expires INTEGER, tenant TEXT, result TEXT,
  idempotency_key TEXT, consecutive_failures INTEGER NOT NULL DEFAULT 0, worker_pid INTEGER,
  last_failure_error TEXT, max_runtime_seconds INTEGER, last_heartbeat_at INTEGER, current_run_id INTEGER,
  workflow_template_id TEXT, current_step_key TEXT, skills TEXT, model_override TEXT, provider_override TEXT,
  reasoning_effort TEXT, max_retries INTEGER, goal_mode INTEGER NOT NULL DEFAULT 0, goal_max_turns INTEGER,
  session_id TEXT, block_kind TEXT, block_recurrences INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE task_links (parent_id TEXT NOT NULL, child_id TEXT NOT NULL, PRIMARY KEY (parent_id, child_id));
CREATE TABLE task_comments (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, author TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE task_events (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, run_id INTEGER, kind TEXT NOT NULL, payload TEXT, created_at INTEGER NOT NULL);
CREATE TABLE task_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, profile TEXT, step_key TEXT, status TEXT NOT NULL,
  claim_lock TEXT, claim_expires INTEGER, worker_pid INTEGER, max_runtime_seconds INTEGER, last_heartbeat_at INTEGER,
  started_at INTEGER NOT NULL, ended_at INTEGER, outcome TEXT, summary TEXT, metadata TEXT, error TEXT
);
CREATE TABLE task_attachments (id INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL, filename TEXT NOT NULL, stored_path TEXT NOT NULL, content_type TEXT, size INTEGER NOT NULL DEFAULT 0, uploaded_by TEXT, created_at INTEGER NOT NULL);
CREATE TABLE kanban_notify_subs (
  task_id TEXT NOT NULL, platform TEXT NOT NULL, chat_id TEXT NOT NULL, thread_id TEXT NOT NULL DEFAULT '',
  user_id TEXT, user_id_alt TEXT, chat_type TEXT, notifier_profile TEXT, delivery_mode TEXT NOT NULL DEFAULT 'notify',
  delivery_metadata TEXT, created_at INTEGER NOT NULL, last_event_id INTEGER NOT NULL DEFAULT 0,
  last_ping_event_id INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (task_id, platform, chat_id, thread_id)
);
CREATE INDEX idx_tasks_status ON tasks(status);
CREATE INDEX idx_events_task ON task_events(task_id, created_at);
`

type Row = Record<string, string | number | null>

/** The rows of the fixture, by table, in insertion order (ids of autoincrement tables implied). */
export interface FixtureRows {
  tasks: Row[]
  task_links: Row[]
  task_comments: Row[]
  task_events: Row[]
  task_runs: Row[]
  task_attachments: Row[]
  kanban_notify_subs: Row[]
}

const T0 = 1_760_000_000

/** Builds the board's rows: a small history of a real board. */
export function fixtureRows(extraTasks = 0): FixtureRows {
  const rows: FixtureRows = { tasks: [], task_links: [], task_comments: [], task_events: [], task_runs: [], task_attachments: [], kanban_notify_subs: [] }
  let clock = T0
  const tick = (): number => (clock += 7)
  const task = (id: string, status: string, fields: Row = {}): void => {
    rows.tasks.push({ id, title: `Task ${id}`, body: `Body of ${id}`, status, priority: 0, created_by: 'alice', created_at: tick(), assignee: 'coder', ...fields })
  }
  const event = (taskId: string, kind: string, payload: Record<string, unknown> | null = null, runId: number | null = null): number => {
    rows.task_events.push({ task_id: taskId, run_id: runId, kind, payload: payload === null ? null : JSON.stringify(payload), created_at: tick() })
    return rows.task_events.length
  }
  const run = (taskId: string, fields: Row): number => {
    rows.task_runs.push({ task_id: taskId, profile: 'coder', status: 'done', claim_lock: 'gw-host:4242', worker_pid: 4242, started_at: tick(), ...fields })
    return rows.task_runs.length
  }
  const created = (id: string, status: string, parents: string[] = []): void => void event(id, 'created', { assignee: 'coder', status, parents })

  // done: created, claimed, completed, with a run, a comment pair in the same second and an attachment.
  task('t_0000done', 'done', { started_at: T0 + 100, completed_at: T0 + 200, result: 'shipped the parser', skills: '["python","git"]', workspace_kind: 'worktree', workspace_path: '/srv/wt/t_0000done', branch_name: 'wt/t_0000done', model_override: 'big-model', idempotency_key: 'key-done' })
  created('t_0000done', 'ready')
  const doneRun = run('t_0000done', { status: 'done', outcome: 'completed', ended_at: T0 + 200, summary: 'parser done', metadata: '{"files":3}', last_heartbeat_at: T0 + 150, step_key: 'build' })
  event('t_0000done', 'claimed', { lock: 'gw-host:4242' }, doneRun)
  event('t_0000done', 'heartbeat', null, doneRun)
  rows.task_comments.push({ task_id: 't_0000done', author: 'alice', body: 'first, same second', created_at: T0 + 150 })
  rows.task_comments.push({ task_id: 't_0000done', author: 'bob', body: 'second, same second', created_at: T0 + 150 })
  event('t_0000done', 'commented', { author: 'alice', len: 18 })
  event('t_0000done', 'commented', { author: 'bob', len: 19 })
  rows.task_attachments.push({ task_id: 't_0000done', filename: 'report.pdf', stored_path: '/srv/kanban/attachments/t_0000done/report.pdf', content_type: 'application/pdf', size: 1234, uploaded_by: 'alice', created_at: tick() })
  event('t_0000done', 'attached', { filename: 'report.pdf', size: 1234, by: 'alice' })
  event('t_0000done', 'assigned', { assignee: 'coder' })
  const doneCompleted = event('t_0000done', 'completed', { summary: 'parser done' }, doneRun)

  // ready child of the done task (promoted), with its own idempotency key.
  task('t_000ready', 'ready', { max_retries: 4, tenant: 'acme', priority: 5 })
  rows.task_links.push({ parent_id: 't_0000done', child_id: 't_000ready' })
  created('t_000ready', 'todo', ['t_0000done'])
  event('t_000ready', 'linked', { parent: 't_0000done', child: 't_000ready' })
  event('t_000ready', 'promoted', {})

  // todo: waits for the running task.
  task('t_00000todo', 'todo')
  // triage, scheduled, review.
  task('t_00triage', 'triage')
  created('t_00triage', 'triage')
  task('t_sched001', 'scheduled')
  task('t_review01', 'review', { started_at: T0 + 400 })
  created('t_review01', 'ready')
  const reviewRun = run('t_review01', { status: 'done', outcome: 'completed', ended_at: tick(), summary: 'please review' })
  event('t_review01', 'claimed', {}, reviewRun)
  event('t_review01', 'review_requested', { summary: 'please review' }, reviewRun)

  // running: a claim held by a Python worker (released by the import), an open run.
  task('t_running1', 'running', { claim_lock: 'gw-host:5151', claim_expires: T0 + 99_999, worker_pid: 5151, last_heartbeat_at: T0 + 600, started_at: T0 + 500, max_runtime_seconds: 3600 })
  created('t_running1', 'ready')
  const crashedRun = run('t_running1', { status: 'crashed', outcome: 'crashed', ended_at: tick(), error: 'worker died' })
  event('t_running1', 'claimed', {}, crashedRun)
  event('t_running1', 'crashed', { pid: 4242 }, crashedRun)
  const openRun = run('t_running1', { status: 'running', claim_lock: 'gw-host:5151', worker_pid: 5151, claim_expires: T0 + 99_999, last_heartbeat_at: T0 + 600 })
  event('t_running1', 'claimed', {}, openRun)
  rows.tasks.find((row) => row['id'] === 't_running1')!['current_run_id'] = openRun
  rows.task_links.push({ parent_id: 't_running1', child_id: 't_00000todo' })

  // blocked after giving up: two failures (spawn failure, timeout).
  task('t_blocked1', 'blocked', { consecutive_failures: 2, last_failure_error: 'timed out', block_kind: 'transient', block_recurrences: 1 })
  created('t_blocked1', 'ready')
  const spawnRun = run('t_blocked1', { status: 'failed', outcome: 'spawn_failed', ended_at: tick(), error: 'no such profile' })
  event('t_blocked1', 'claimed', {}, spawnRun)
  event('t_blocked1', 'spawn_failed', { error: 'no such profile' }, spawnRun)
  const timeoutRun = run('t_blocked1', { status: 'timed_out', outcome: 'timed_out', ended_at: tick(), error: 'timed out' })
  event('t_blocked1', 'claimed', {}, timeoutRun)
  event('t_blocked1', 'timed_out', {}, timeoutRun)
  event('t_blocked1', 'gave_up', { reason: 'gave up after 2 consecutive failures' }, timeoutRun)

  // archived, sharing the done task's idempotency key (the Python board frees archived keys).
  task('t_archive1', 'archived', { idempotency_key: 'key-done' })
  created('t_archive1', 'ready')
  event('t_archive1', 'archived', {})

  // review on the Python board: a reviewer's claim moves the task to running; changes requested, then approved.
  task('t_reviewed', 'done', { completed_at: T0 + 900 })
  created('t_reviewed', 'ready')
  const work1 = run('t_reviewed', { outcome: 'review_requested', ended_at: tick(), summary: 'first try' })
  event('t_reviewed', 'claimed', {}, work1)
  event('t_reviewed', 'review_requested', {}, work1)
  const review1 = run('t_reviewed', { profile: 'reviewer', claim_lock: 'gw-host:6001', worker_pid: 6001, outcome: 'changes_requested', ended_at: tick() })
  event('t_reviewed', 'claimed', { source_status: 'review' }, review1)
  event('t_reviewed', 'changes_requested', { reasons: 'add tests' }, review1)
  const work2 = run('t_reviewed', { outcome: 'review_requested', ended_at: tick() })
  event('t_reviewed', 'claimed', {}, work2)
  event('t_reviewed', 'review_requested', {}, work2)
  const review2 = run('t_reviewed', { profile: 'reviewer', claim_lock: 'gw-host:6002', worker_pid: 6002, outcome: 'completed', ended_at: tick() })
  event('t_reviewed', 'claimed', { source_status: 'review' }, review2)
  event('t_reviewed', 'completed', {}, review2)
  // completed by hand from ready (the Python board allows it; kanban-db claims first).
  task('t_manual01', 'done', { completed_at: T0 + 950, result: 'done by hand' })
  created('t_manual01', 'ready')
  event('t_manual01', 'completed', { manual: true })
  // running under a reviewer's claim: back to review on kanban-db.
  task('t_revrun01', 'running', { claim_lock: 'gw-host:6003', worker_pid: 6003 })
  created('t_revrun01', 'ready')
  const work3 = run('t_revrun01', { outcome: 'review_requested', ended_at: tick() })
  event('t_revrun01', 'claimed', {}, work3)
  event('t_revrun01', 'review_requested', {}, work3)
  const review3 = run('t_revrun01', { profile: 'reviewer', status: 'running', claim_lock: 'gw-host:6003', worker_pid: 6003 })
  event('t_revrun01', 'claimed', { source_status: 'review' }, review3)

  // a cycle between two todo tasks: the second link is dropped.
  task('t_cycle_a1', 'todo')
  task('t_cycle_b1', 'todo')
  rows.task_links.push({ parent_id: 't_cycle_a1', child_id: 't_cycle_b1' })
  rows.task_links.push({ parent_id: 't_cycle_b1', child_id: 't_cycle_a1' })
  // a dangling link and rows of a task that is not there (no foreign keys on the Python board).
  rows.task_links.push({ parent_id: 't_gone0000', child_id: 't_00000todo' })
  rows.task_comments.push({ task_id: 't_gone0000', author: 'eve', body: 'orphan', created_at: tick() })
  // a malformed task: an id kanban-db cannot keep, with a comment.
  task('bad id!', 'ready')
  rows.task_comments.push({ task_id: 'bad id!', author: 'eve', body: 'on a bad task', created_at: tick() })

  for (let index = 0; index < extraTasks; index++) {
    const id = `t_x${String(index).padStart(7, '0')}`
    task(id, index % 3 === 0 ? 'done' : 'ready')
    created(id, 'ready')
  }

  // subscriptions: one that saw the done task up to its completion, one that saw nothing.
  rows.kanban_notify_subs.push({ task_id: 't_0000done', platform: 'telegram', chat_id: '42', thread_id: '', user_id: 'u1', chat_type: 'dm', delivery_mode: 'notify', created_at: T0 + 10, last_event_id: doneCompleted, last_ping_event_id: 0 })
  rows.kanban_notify_subs.push({ task_id: 't_blocked1', platform: 'slack', chat_id: 'C1', thread_id: 'th1', created_at: T0 + 10, last_event_id: 0, last_ping_event_id: 0 })
  return rows
}

const WRITER = `
import json, sys, sqlite3
path, mode = sys.argv[1], sys.argv[2]
spec = json.load(sys.stdin)
conn = sqlite3.connect(path)
got = conn.execute('PRAGMA journal_mode=' + mode).fetchone()[0]
assert got == mode, got
conn.executescript(spec['schema'])
for table, rows in spec['rows'].items():
    for row in rows:
        cols = list(row.keys())
        conn.execute('INSERT INTO %s (%s) VALUES (%s)' % (table, ', '.join(cols), ', '.join('?' * len(cols))), [row[c] for c in cols])
conn.commit()
conn.close()
`

/** Writes the fixture at `path` in the given journal mode with Python's sqlite3, then closes it. */
export function writePythonBoard(path: string, journalMode: 'wal' | 'delete' | 'truncate', rows: FixtureRows = fixtureRows()): FixtureRows {
  const result = spawnSync(PYTHON, ['-c', WRITER, path, journalMode], { input: JSON.stringify({ schema: SCHEMA, rows }), encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`the fixture writer failed: ${result.stderr}`)
  return rows
}

/**
 * A Python process that keeps the board open (as the gateway does) after writing one more event,
 * so the file has locks held and, in WAL mode, a -wal with content. `stop()` closes it.
 */
export async function holdOpen(path: string): Promise<{ stop: () => Promise<void>; child: ChildProcess }> {
  const script = `
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("INSERT INTO task_events (task_id, kind, created_at) VALUES ('t_0000done', 'heartbeat', 1)")
conn.execute('SELECT count(*) FROM tasks').fetchone()
print('ready', flush=True)
sys.stdin.read()
conn.close()
`
  const child = spawn(PYTHON, ['-c', script, path], { stdio: ['pipe', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the holder exited early (${String(code)})`)))
  })
  return {
    child,
    stop: async () => {
      child.stdin!.end()
      if (child.exitCode === null) await once(child, 'exit')
    },
  }
}

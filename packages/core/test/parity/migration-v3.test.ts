import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard, type Board, type SqliteAdapter, type TaskStatus } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { migrations } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

// Migration 3 made the per-status indexes partial. A query can only use a partial index when its
// WHERE implies the index's, and SQLite silently falls back to another plan when it does not; a
// wrong index definition could also hide rows. So a board migrated from v2 with data must answer
// every claim and list query exactly as the same board still carrying the v2 (full) indexes.

const NOW = 1_000

const STATUSES: readonly TaskStatus[] = ['triage', 'todo', 'scheduled', 'ready', 'running', 'review', 'blocked', 'done', 'failed', 'archived']

const INDEXES = ['tasks_ready_queue', 'tasks_running_expiry', 'tasks_scheduled_due', 'tasks_by_tenant']

/** A v2 board with tasks in every status, written with plain SQL (no kanban-db code of today). */
function v2BoardSql(): string {
  const task = (id: string, status: TaskStatus, fields: Record<string, string | number | null> = {}): string => {
    const row: Record<string, string | number | null> = { id, title: id, status, created_at: 10, updated_at: 10, ...fields }
    const values = Object.values(row).map((value) => (value === null ? 'NULL' : typeof value === 'number' ? String(value) : `'${value}'`))
    return `INSERT INTO tasks (${Object.keys(row).join(', ')}) VALUES (${values.join(', ')});`
  }
  const running = (runId: string, token: string, claimedAt: number, expiresAt: number) => ({
    claim_token: token, claimed_by: 'w', worker_pid: 4_000_000, worker_host: 'h', claimed_at: claimedAt, claim_expires_at: expiresAt,
    lease_ms: 100, current_run_id: runId, attempts: 1, started_at: claimedAt,
  })
  return [
    task('r-low', 'ready', { priority: 1, created_at: 1, assignee: 'a' }),
    task('r-mid', 'ready', { priority: 5, created_at: 10 }),
    task('r-mid-old', 'ready', { priority: 5, created_at: 5, assignee: 'a', tenant: 'x' }),
    task('r-high', 'ready', { priority: 9, created_at: 20, tenant: 'y' }),
    task('run-expired', 'running', { ...running('run-1', 'tok-1', 40, 50), max_runtime_ms: 5 }),
    task('run-live', 'running', { ...running('run-2', 'tok-2', 900, 5_000), tenant: 'x' }),
    task('rev-open', 'review', { review_requested_by: 'w', tenant: 'x', created_at: 3 }),
    task('rev-open-2', 'review', { review_requested_by: 'other', created_at: 4 }),
    task('rev-expired', 'review', { ...running('run-3', 'tok-3', 30, 60), claimed_by: 'reviewer', review_requested_by: 'w' }),
    task('sched-due', 'scheduled', { due_at: 500 }),
    task('sched-later', 'scheduled', { due_at: 5_000, tenant: 'x' }),
    task('sched-waits', 'scheduled', { due_at: 100 }),
    task('todo-after-live', 'todo'),
    task('blocked', 'blocked', { block_reason: 'why' }),
    task('done', 'done', { completed_at: 9 }),
    task('failed', 'failed', { attempts: 3, tenant: 'y' }),
    task('triage', 'triage'),
    task('archived', 'archived'),
    "INSERT INTO task_dependencies (task_id, depends_on_id, created_at) VALUES ('sched-waits', 'todo-after-live', 10), ('todo-after-live', 'run-live', 10);",
    ...[['run-1', 'run-expired', 'tok-1', 40], ['run-2', 'run-live', 'tok-2', 900], ['run-3', 'rev-expired', 'tok-3', 30]].map(
      ([id, taskId, token, started]) =>
        `INSERT INTO task_runs (id, task_id, attempt, worker_id, pid, host, claim_token, started_at) VALUES ('${id}', '${taskId}', 1, 'w', 4000000, 'h', '${token}', ${started});`,
    ),
  ].join('\n')
}

/** Every claim and list query of the board, in an order that moves tasks through them; what each returned. */
async function exercise(board: Board): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {}
  const ids = (tasks: ReadonlyArray<{ id: string }>) => tasks.map((task) => task.id)
  const list = async (label: string) => {
    for (const status of STATUSES) seen[`${label} ${status}`] = ids(await board.listTasks({ status }))
    seen[`${label} ready+todo`] = ids(await board.listTasks({ status: ['ready', 'todo'] }))
    seen[`${label} tenant x`] = ids(await board.listTasks({ tenant: 'x' }))
    seen[`${label} tenant x ready`] = ids(await board.listTasks({ tenant: 'x', status: 'ready' }))
    seen[`${label} assignee a`] = ids(await board.listTasks({ assignee: 'a' }))
    seen[`${label} all`] = (await board.listTasks({})).map((task) => `${task.id}:${task.status}`)
  }
  const claim = async (label: string, options: Partial<Parameters<Board['claimNext']>[0]>) => {
    const claimed = await board.claimNext({ workerId: 'w2', leaseMs: 10_000, host: 'h', pid: 4_000_001, ...options })
    seen[`claim ${label}`] = claimed?.id ?? null
    return claimed
  }
  await list('before')
  seen['overrunning'] = (await board.overrunningClaims(NOW)).map((claim) => claim.taskId)
  seen['released'] = (await board.releaseStaleClaims(NOW)).map((claim) => `${claim.taskId}:${claim.status}`)
  seen['promoted'] = await board.promoteScheduled(NOW)
  await list('after reclaim')
  await claim('assignee a', { assignee: 'a' })
  await claim('assignee null', { assignee: null })
  await claim('tenant x', { tenant: 'x' })
  await claim('tenant y', { tenant: 'y' })
  await claim('review by w', { role: 'review', workerId: 'w' })
  await claim('review tenant x', { role: 'review', tenant: 'x', workerId: 'reviewer-2' })
  await claim('review any', { role: 'review', workerId: 'reviewer-3' })
  seen['complete run-live'] = (await board.complete('run-live', 'tok-2')).status
  for (let index = 0; ; index++) {
    const claimed = await claim(`any ${index}`, {})
    if (!claimed) break
  }
  seen['crashed'] = (await board.detectCrashedWorkers({ isAlive: () => false, host: 'h', graceMs: 0, now: NOW + 1 })).map((claim) => `${claim.taskId}:${claim.status}`)
  await list('end')
  seen['events'] = (await board.events({ limit: 1_000 })).map((event) => `${event.taskId}:${event.kind}:${event.fromStatus ?? ''}>${event.toStatus ?? ''}`)
  return seen
}

async function indexSql(adapter: SqliteAdapter, path: string): Promise<Record<string, string>> {
  const connection = await adapter.open(path)
  try {
    const rows = connection.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (${INDEXES.map((name) => `'${name}'`).join(', ')})`).all([])
    return Object.fromEntries(rows.map((row) => [String(row['name']), String(row['sql'])]))
  } finally {
    connection.close()
  }
}

for (const { name, create } of bundledAdapters) {
  describe(`migration 3 on ${name}`, () => {
    it('makes the per-status indexes partial on a v2 board with data, and every claim and list query returns what it did with the full indexes', async () => {
      expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(3)
      const adapter = await create()
      const dir = tempDir()
      const migrated = join(dir, 'migrated.db')
      const control = join(dir, 'control.db')
      for (const path of [migrated, control]) {
        const raw = await adapter.open(path)
        raw.exec('BEGIN IMMEDIATE')
        raw.exec(migrations[0]!.sql)
        raw.exec(migrations[1]!.sql)
        // The control keeps the v2 indexes: it is marked as version 3 so that opening it skips step 3 (later steps add columns only).
        raw.exec(`PRAGMA user_version = ${path === control ? 3 : 2}`)
        raw.exec(v2BoardSql())
        raw.exec('COMMIT')
        raw.close()
      }

      const results: Array<Record<string, unknown>> = []
      for (const path of [migrated, control]) {
        const board = await openBoard({ path, adapter, clock: () => NOW })
        try {
          expect((await board.health()).schemaVersion).toBe(LATEST_SCHEMA_VERSION)
          results.push(await exercise(board))
        } finally {
          await board.close()
        }
      }

      const migratedIndexes = await indexSql(adapter, migrated)
      const controlIndexes = await indexSql(adapter, control)
      for (const index of INDEXES) {
        expect(controlIndexes[index], `control did not keep the full v2 index ${index}`).not.toMatch(/\bWHERE\b/i)
        expect(migratedIndexes[index], `migration 3 did not make ${index} partial`).toMatch(/\bWHERE\b/i)
      }
      const [onMigrated, onControl] = results as [Record<string, unknown>, Record<string, unknown>]
      expect(onMigrated).toEqual(onControl)
      // The scenario reaches what it means to: the queries saw rows, in the order the board promises.
      expect(onMigrated).toMatchObject({
        'before ready': ['r-low', 'r-mid-old', 'r-mid', 'r-high'],
        'before running': ['run-expired', 'run-live'],
        'before review': ['rev-open', 'rev-open-2', 'rev-expired'],
        'before scheduled': ['sched-due', 'sched-later', 'sched-waits'],
        'before tenant x': ['rev-open', 'r-mid-old', 'run-live', 'sched-later'],
        overrunning: ['run-expired'],
        released: ['run-expired:ready', 'rev-expired:review'],
        promoted: ['sched-waits', 'sched-due'],
        'claim assignee a': 'r-mid-old',
        'claim assignee null': 'r-high',
        'claim tenant x': null,
        'claim tenant y': null,
        'claim review by w': 'rev-open-2',
        'claim review tenant x': 'rev-open',
        'claim review any': 'rev-expired',
        'complete run-live': 'done',
        'claim any 0': 'r-mid',
        'claim any 1': 'r-low',
        'claim any 2': 'run-expired',
        'claim any 3': 'sched-due',
        'claim any 4': 'todo-after-live',
        'claim any 5': null,
        'end todo': ['sched-waits'],
        // Each change wrote its one event: the dependent released by the completion once, as promoted.
        events: expect.arrayContaining(['run-live:completed:running>done', 'todo-after-live:promoted:todo>ready', 'sched-waits:due:scheduled>todo']),
      })
      expect((onMigrated['events'] as string[]).filter((event) => event.includes(':promoted:'))).toEqual(['todo-after-live:promoted:todo>ready'])
    })
  })
}

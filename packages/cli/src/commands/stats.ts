import { TASK_STATUSES, type Board, type SqliteBoardHealth } from '@kanban-db/core'
import { formatBytes, formatDuration, formatTime } from '../output/format.js'
import { writeJson } from '../output/json.js'
import { renderFields, renderTable } from '../output/table.js'
import { paintStatus } from '../output/task-view.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'
import { withBoard } from './with-board.js'

const WINDOWS = [
  ['lastHour', 3_600_000],
  ['lastDay', 86_400_000],
] as const
const COUNTED_KINDS = ['created', 'completed', 'failed', 'gave-up', 'expired', 'crashed'] as const

/** Events of the counted kinds since `since`, by kind. */
async function kindsSince(board: Board, since: number): Promise<Record<(typeof COUNTED_KINDS)[number], number>> {
  const rows = await board.db
    .selectFrom('events')
    .select(['kind', ({ fn }) => fn.countAll().as('n')])
    .where('created_at', '>=', since)
    .where('kind', 'in', [...COUNTED_KINDS])
    .groupBy('kind')
    .execute()
  const counts = Object.fromEntries(COUNTED_KINDS.map((kind) => [kind, 0])) as Record<(typeof COUNTED_KINDS)[number], number>
  for (const row of rows) counts[row.kind as (typeof COUNTED_KINDS)[number]] = Number(row.n)
  return counts
}

/** `kanban-db stats`: counts per status, throughput, claims and the board's storage facts. */
export const stats: Command = {
  name: 'stats',
  summary: 'Counts per status, throughput over the last hour and day, claims, and storage facts',
  positionals: [{ name: 'board', description: 'A SQLite file path or a postgres:// URL' }],
  options: {},
  examples: ['kanban-db stats board.db', 'kanban-db stats board.db --json | jq .tasks.ready'],
  async run(context) {
    const report = await withBoard(context, 'read', async ({ board, sqlite }) => {
      const health = await board.health()
      const now = Date.now()
      const events = await board.db.selectFrom('events').select([({ fn }) => fn.countAll().as('n'), ({ fn }) => fn.max('created_at').as('newest')]).executeTakeFirst()
      const running = await board.db
        .selectFrom('tasks')
        .select([({ fn }) => fn.countAll().as('n')])
        .where('status', '=', 'running')
        .where('claim_expires_at', '<', now)
        .executeTakeFirst()
      const oldestReady = await board.db.selectFrom('tasks').select(({ fn }) => fn.min('updated_at').as('at')).where('status', '=', 'ready').executeTakeFirst()
      const windows = Object.fromEntries(await Promise.all(WINDOWS.map(async ([name, span]) => [name, await kindsSince(board, now - span)] as const)))
      const sqliteHealth = sqlite ? (health as SqliteBoardHealth) : undefined
      return {
        engine: board.engine,
        location: board.location,
        schemaVersion: health.schemaVersion,
        tasks: health.tasks,
        total: Object.values(health.tasks).reduce((sum, count) => sum + count, 0),
        events: { count: Number(events?.n ?? 0), newestAt: events?.newest === null || events?.newest === undefined ? null : Number(events.newest) },
        expiredClaims: Number(running?.n ?? 0),
        oldestReadySince: oldestReady?.at === null || oldestReady?.at === undefined ? null : Number(oldestReady.at),
        lastHour: windows['lastHour']!,
        lastDay: windows['lastDay']!,
        ...(sqliteHealth
          ? { storage: { journalMode: sqliteHealth.journalMode, databaseBytes: sqliteHealth.databaseBytes, walBytes: sqliteHealth.walBytes, sqliteVersion: sqliteHealth.sqliteVersion, adapter: sqliteHealth.adapter } }
          : {}),
        at: now,
      }
    })
    if (context.json) {
      writeJson(context.stdout, report)
      return EXIT.ok
    }
    const color = context.color
    const statusTable = renderTable(
      [{ heading: 'STATUS' }, { heading: 'TASKS', align: 'right' }],
      [...TASK_STATUSES.map((status) => [paintStatus(status, color), String(report.tasks[status])]), [color.bold('total'), color.bold(String(report.total))]],
    )
    const throughput = renderTable(
      [{ heading: 'WINDOW' }, ...COUNTED_KINDS.map((kind) => ({ heading: kind.toUpperCase(), align: 'right' as const }))],
      WINDOWS.map(([name]) => [name === 'lastHour' ? 'last hour' : 'last day', ...COUNTED_KINDS.map((kind) => String(report[name][kind]))]),
    )
    const fields: [string, string][] = [
      ['board', `${report.location} (${report.engine}, schema v${report.schemaVersion})`],
      ['events', `${report.events.count}, newest ${formatTime(report.events.newestAt)}`],
      ['oldest ready', report.oldestReadySince === null ? '-' : `waiting ${formatDuration(report.at - report.oldestReadySince)}`],
      ['expired claims', report.expiredClaims === 0 ? '0' : color.yellow(`${report.expiredClaims} (a dispatcher or idle worker takes them back; kanban-db doctor says more)`)],
    ]
    if (report.storage) fields.push(['storage', `${report.storage.journalMode}, ${formatBytes(report.storage.databaseBytes)} + WAL ${formatBytes(report.storage.walBytes)} (SQLite ${report.storage.sqliteVersion})`])
    context.stdout.write(`${renderFields(fields)}\n\n${statusTable}\n\n${throughput}\n`)
    return EXIT.ok
  },
}

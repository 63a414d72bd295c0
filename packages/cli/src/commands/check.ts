import { checkBoard, type BoardCheck } from '@kanban-db/core'
import { formatBytes } from '../output/format.js'
import { writeJson } from '../output/json.js'
import { startProgress } from '../output/progress.js'
import { renderFields } from '../output/table.js'
import type { Command, CommandContext } from './command.js'
import { EXIT, type ExitCode } from './exit-codes.js'
import { withBoard } from './with-board.js'

const BOARD_TABLES = ['tasks', 'task_dependencies', 'task_runs', 'events', 'comments', 'attachments', 'subscriptions'] as const

async function checkSqlite(context: CommandContext): Promise<ExitCode> {
  const offline = context.options['offline'] === true
  const progress = startProgress(context.stderr, 'checking')
  let check: BoardCheck
  try {
    check = await withBoard(context, offline ? 'write' : 'read', ({ sqlite }) => checkBoard(sqlite!, { integrity: context.options['integrity'] === true, quiet: offline }))
  } finally {
    progress.finish()
  }
  const code = check.ok ? EXIT.ok : EXIT.damaged
  if (context.json) {
    writeJson(context.stdout, check)
    return code
  }
  const color = context.color
  const fields: [string, string][] = [
    ['board', check.path],
    ['verdict', check.ok ? color.green('ok') : color.red(check.corrupt ? 'damaged' : 'problems found')],
    ['journal mode', check.journalMode],
    ['pages', `${check.pageCount} of ${check.header.pageSize} bytes (${formatBytes(check.databaseBytes)})`],
    ['file', `${check.fileBytes === undefined ? '-' : formatBytes(check.fileBytes)}, WAL ${formatBytes(check.walBytes)}`],
    [check.content.kind, check.content.ok ? 'ok' : `${check.content.messages.length} problem(s)`],
  ]
  if (check.quiet) fields.push(['offline check', check.quiet.skipped ?? (check.quiet.agrees ? 'file size, header and page count agree' : 'they disagree')])
  context.stdout.write(`${renderFields(fields)}\n`)
  for (const problem of check.problems) context.stdout.write(`${color.red('problem:')} ${problem}\n`)
  if (!check.ok) context.stdout.write(`${color.dim('action:')} stop the board's writers, keep the file for inspection, and restore the newest backup (kanban-db backup makes them).\n`)
  return code
}

async function checkPostgres(context: CommandContext): Promise<ExitCode> {
  const report = await withBoard(context, 'read', async ({ board }) => {
    const health = await board.health()
    const version = await board.db.selectNoFrom((eb) => eb.fn<string>('current_setting', [eb.val('server_version')]).as('server_version')).executeTakeFirst()
    const rows: Record<string, number> = {}
    for (const table of BOARD_TABLES) {
      const row = await board.db.selectFrom(table).select(({ fn }) => fn.countAll().as('n')).executeTakeFirst()
      rows[table] = Number(row?.n ?? 0)
    }
    return {
      location: board.location,
      ok: true,
      serverVersion: version?.server_version ?? 'unknown',
      schemaVersion: health.schemaVersion,
      rows,
      note: 'kanban-db checked the connection, the schema version and that every board table reads. Page-level checks are the server\'s own: pg_amcheck (the amcheck extension) verifies tables and indexes.',
    }
  })
  if (context.json) writeJson(context.stdout, report)
  else {
    context.stdout.write(
      `${renderFields([
        ['board', report.location],
        ['verdict', context.color.green('ok')],
        ['server', `PostgreSQL ${report.serverVersion}`],
        ['schema version', String(report.schemaVersion)],
        ['rows', Object.entries(report.rows).map(([table, count]) => `${table} ${count}`).join(', ')],
      ])}\n${context.color.dim(report.note)}\n`,
    )
  }
  return EXIT.ok
}

/** `kanban-db check`: is the board's file sound? */
export const check: Command = {
  name: 'check',
  summary: 'Check a SQLite board file for damage (quick_check, or integrity_check); Postgres: connection and schema',
  description:
    'On SQLite the file is read through SQLite only (quick_check by default). Exit 0 when sound, 7 when damaged. ' +
    'On Postgres the connection, schema version and every board table are read; page checks are pg_amcheck\'s.',
  positionals: [{ name: 'board', description: 'A SQLite file path or a postgres:// URL' }],
  options: {
    integrity: { type: 'boolean', description: 'Run integrity_check (slower; also checks every index) instead of quick_check' },
    offline: { type: 'boolean', description: 'You vouch no other process uses the board now: open it writable, checkpoint, and compare file size, header and page count' },
  },
  examples: ['kanban-db check board.db', 'kanban-db check board.db --integrity --json'],
  async run(context) {
    return context.board!.engine === 'postgres' ? checkPostgres(context) : checkSqlite(context)
  },
}

import { statSync } from 'node:fs'
import { BoardNotFound, importPythonBoard, type ImportReport } from '@kanban-db/core'
import { parseBoardTarget } from '../board-target.js'
import { writeJson } from '../output/json.js'
import { startProgress } from '../output/progress.js'
import { renderTable } from '../output/table.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'
import { integerOption, stringOption } from './values.js'
import { requiredArg, withBoard } from './with-board.js'

function humanReport(report: ImportReport, shownDrops: number): string {
  const tables = renderTable(
    [{ heading: 'SOURCE TABLE' }, { heading: 'ROWS', align: 'right' }, { heading: 'IMPORTED', align: 'right' }, { heading: 'ALREADY', align: 'right' }, { heading: 'DROPPED', align: 'right' }, { heading: 'NOTE' }],
    Object.entries(report.tables).map(([table, counts]) => [
      table,
      String(counts.source),
      String(counts.imported),
      String(counts.alreadyImported),
      String(counts.dropped),
      counts.folded !== undefined ? `${counts.folded} folded, ${counts.synthesized ?? 0} synthesized` : '',
    ]),
  )
  const statuses = renderTable(
    [{ heading: 'PYTHON STATUS' }, { heading: 'TASKS', align: 'right' }, { heading: 'KANBAN-DB STATUS' }],
    Object.entries(report.statuses).map(([status, mapping]) => [status, String(mapping.count), Object.entries(mapping.to).map(([to, count]) => `${to} ${count}`).join(', ')]),
  )
  const lines = [
    `imported ${report.source} into ${report.target}: ${report.written} row(s) written${report.written === 0 ? ' (nothing new: already imported)' : ''}`,
    '',
    tables,
    '',
    statuses,
    '',
    `limits: ${report.limits.rule} (failure limit ${report.limits.failureLimit}; maxAttempts ${report.limits.maxAttempts}; ${report.limits.tasksWithOwnLimit} task(s) kept their own)`,
  ]
  if (report.dropped.length > 0) {
    lines.push('', `dropped (${report.dropped.length}):`)
    for (const item of report.dropped.slice(0, shownDrops)) lines.push(`  ${item.table} ${item.source}${item.field ? `.${item.field}` : ''}: ${item.reason}`)
    if (report.dropped.length > shownDrops) lines.push(`  ... ${report.dropped.length - shownDrops} more (--json lists every one)`)
  }
  if (report.notes.length > 0) lines.push('', 'notes:', ...report.notes.map((note) => `  - ${note}`))
  return `${lines.join('\n')}\n`
}

/** `kanban-db import`: moves a Python agent gateway board (`kanban.db`) into a kanban-db board. */
export const importCommand: Command = {
  name: 'import',
  summary: 'Import a Python agent gateway board (kanban.db) into a kanban-db board, with a report',
  description:
    'The source is read immutably and never changed; stop the Python dispatcher first (a board in use is refused). The target is created when it does not exist. ' +
    'A second import of the same source writes nothing. The report says what mapped to what and what was dropped (all of it with --json).',
  positionals: [
    { name: 'source', description: 'The Python board\'s kanban.db' },
    { name: 'board', description: 'The kanban-db board to import into: a SQLite file path or a postgres:// URL' },
  ],
  options: {
    'failure-limit': { type: 'string', valueName: 'N', description: 'The Python dispatcher\'s kanban.failure_limit for tasks without their own (default 2)' },
    'max-attempts': { type: 'string', valueName: 'N', description: 'maxAttempts of every imported task (default 1000: the Python board caps none)' },
    'batch-size': { type: 'string', valueName: 'N', description: 'Tasks per transaction (default 100)' },
  },
  examples: ['kanban-db import ~/.hermes/kanban.db board.db', 'kanban-db import kanban.db postgres://localhost/app?schema=kanban --failure-limit 3 --json > import-report.json'],
  async run(context) {
    const source = requiredArg(context, 'source')
    const failureLimit = integerOption('--failure-limit', stringOption(context.options['failure-limit']), { min: 1, max: 1001 })
    const maxAttempts = integerOption('--max-attempts', stringOption(context.options['max-attempts']), { min: 1, max: 1000 })
    const batchSize = integerOption('--batch-size', stringOption(context.options['batch-size']), { min: 1, max: 10_000 })
    if (statSync(source, { throwIfNoEntry: false }) === undefined) throw new BoardNotFound(`No Python board at ${source}: check the path. Nothing was imported.`, { details: { path: source } })
    const progress = startProgress(context.stderr, 'importing')
    let report: ImportReport
    try {
      report = await withBoard({ ...context, board: context.board ?? parseBoardTarget(requiredArg(context, 'board')) }, 'create', ({ board }) =>
        importPythonBoard({
          source,
          into: board,
          ...(failureLimit !== undefined ? { failureLimit } : {}),
          ...(maxAttempts !== undefined ? { maxAttempts } : {}),
          ...(batchSize !== undefined ? { batchSize } : {}),
          onProgress: ({ done, total }) => progress.update(done, total),
        }),
      )
    } finally {
      progress.finish()
    }
    if (context.json) writeJson(context.stdout, report)
    else context.stdout.write(humanReport(report, 20))
    return EXIT.ok
  },
}

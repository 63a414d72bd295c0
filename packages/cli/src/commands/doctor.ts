import { statSync } from 'node:fs'
import { BoardNotFound } from '@kanban-db/core'
import { writeJson } from '../output/json.js'
import { startProgress } from '../output/progress.js'
import type { Command } from './command.js'
import { EXIT } from './exit-codes.js'

/** `kanban-db doctor`: why is the board stuck or broken? The findings come from `src/doctor`. */
export const doctor: Command = {
  name: 'doctor',
  summary: 'Say why a board is stuck or broken: findings, each with the action to take (never writes)',
  description:
    'Exit 0 when no finding is worse than info, 6 when the worst is a warning, 7 when there is an error. ' +
    'With --json, the report: { target, engine, checkedAt, worst, findings: [{ id, severity, title, detail, action?, data? }] }.',
  positionals: [{ name: 'board', description: 'A SQLite file path or a postgres:// URL' }],
  options: {},
  examples: ['kanban-db doctor board.db', 'kanban-db doctor board.db --json | jq \'.findings[] | select(.severity != "ok")\''],
  async run(context) {
    const target = context.board!
    if (target.engine === 'sqlite' && statSync(target.path, { throwIfNoEntry: false }) === undefined) {
      throw new BoardNotFound(`No board at ${target.path}. Check the path; the doctor never creates a board.`, { details: { path: target.path } })
    }
    const { runDoctor, formatDoctorReport } = await import('../doctor/index.js')
    const progress = startProgress(context.stderr, 'examining')
    let report
    try {
      report = await runDoctor(target)
    } finally {
      progress.finish()
    }
    if (context.json) writeJson(context.stdout, report)
    else context.stdout.write(formatDoctorReport(report, { color: context.color.enabled }).replace(/\n?$/, '\n'))
    const worst = report.findings.reduce((worst, finding) => Math.max(worst, ['ok', 'info', 'warning', 'error'].indexOf(finding.severity)), 0)
    return worst >= 3 ? EXIT.damaged : worst === 2 ? EXIT.warnings : EXIT.ok
  },
}

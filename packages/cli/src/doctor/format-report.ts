import { bySeverity, worstSeverity, type DoctorReport, type DoctorSeverity } from './finding.js'

const LABEL: Readonly<Record<DoctorSeverity, string>> = { ok: 'ok', info: 'info', warning: 'WARN', error: 'FAIL' }
const COLOR: Readonly<Record<DoctorSeverity, string>> = { ok: '\u001b[32m', info: '\u001b[36m', warning: '\u001b[33m', error: '\u001b[31m' }
const RESET = '\u001b[0m'
const DIM = '\u001b[2m'

/**
 * The report for people: a header, then each finding most severe first, as
 * `LABEL  title  [id]`, its detail indented, and `-> action` when it has one; a closing line counts
 * them. With `color: false` the text holds no escape sequence (for pipes, files and logs).
 */
export function formatDoctorReport(report: DoctorReport, options: { color: boolean }): string {
  const paint = (severity: DoctorSeverity, text: string) => (options.color ? `${COLOR[severity]}${text}${RESET}` : text)
  const dim = (text: string) => (options.color ? `${DIM}${text}${RESET}` : text)
  const lines = [`kanban-db doctor: ${report.target} (${report.engine}), ${report.checkedAt}`, '']
  for (const finding of bySeverity(report.findings)) {
    lines.push(`${paint(finding.severity, LABEL[finding.severity].padEnd(4))}  ${finding.title}  ${dim(`[${finding.id}]`)}`)
    if (finding.severity !== 'ok') {
      for (const line of finding.detail.split('\n')) lines.push(`      ${line}`)
      if (finding.action) lines.push(`      -> ${finding.action}`)
    }
  }
  const count = (severity: DoctorSeverity) => report.findings.filter((finding) => finding.severity === severity).length
  const worst = worstSeverity(report.findings)
  lines.push('', paint(worst, `${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} note(s), ${count('ok')} ok`))
  return `${lines.join('\n')}\n`
}

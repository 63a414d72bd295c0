/** How bad a finding is: `ok` and `info` say nothing is wrong; `warning` needs a look; `error` stops the board. */
export type DoctorSeverity = 'ok' | 'info' | 'warning' | 'error'

/** One thing the doctor found, with what to do about it. */
export interface DoctorFinding {
  /** A stable kebab-case code (`sidecar-deleted`, `claim-stale`, ...): scripts and exit codes key on it. */
  readonly id: string
  readonly severity: DoctorSeverity
  /** One line, for people. */
  readonly title: string
  /** What was seen, with the evidence (pids, command lines, sizes, times). */
  readonly detail: string
  /** What to do about it, when anything. */
  readonly action?: string
  /** The evidence as data, for `--json` and the live board's health panel. */
  readonly data?: unknown
}

/** Everything the doctor found on one board. */
export interface DoctorReport {
  /** The board as given: its file path, or its server URL without the password. */
  readonly target: string
  readonly engine: 'sqlite' | 'postgres'
  /** In the order the checks ran; the most severe first is the formatter's job. */
  readonly findings: readonly DoctorFinding[]
  /** When the doctor looked (ISO 8601). */
  readonly checkedAt: string
  /** The worst severity among the findings (`ok` when there are none). */
  readonly worst?: DoctorSeverity
}

const ORDER: Readonly<Record<DoctorSeverity, number>> = { ok: 0, info: 1, warning: 2, error: 3 }

/** The more severe of two severities. */
export function worse(a: DoctorSeverity, b: DoctorSeverity): DoctorSeverity {
  return ORDER[a] >= ORDER[b] ? a : b
}

/** The worst severity in `findings` (`ok` for none). */
export function worstSeverity(findings: readonly DoctorFinding[]): DoctorSeverity {
  return findings.reduce<DoctorSeverity>((worst, finding) => worse(worst, finding.severity), 'ok')
}

/** Sorts findings most severe first, keeping the check order within a severity. */
export function bySeverity(findings: readonly DoctorFinding[]): DoctorFinding[] {
  return findings.map((finding, index) => ({ finding, index }))
    .sort((a, b) => ORDER[b.finding.severity] - ORDER[a.finding.severity] || a.index - b.index)
    .map(({ finding }) => finding)
}

/** A finding for a check that could not run (it threw): the doctor reports it and goes on. */
export function checkFailed(check: string, error: unknown): DoctorFinding {
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown } | null)?.code
  return {
    id: 'doctor-check-failed',
    severity: 'warning',
    title: `The ${check} check could not run`,
    detail: message,
    action: code === '42501'
      ? 'The doctor\'s user may not read the board: run it as the board\'s owner, or grant that user USAGE on the board\'s schema and SELECT on its tables.'
      : code === '42P01'
        ? 'A table of the board is missing: it was dropped or the board is incomplete; restore the board from a backup.'
        : 'Run the doctor again; if it keeps failing, the message says what stood in the way (permissions, a server that went away).',
    data: { check, ...(typeof code === 'string' ? { code } : {}) },
  }
}

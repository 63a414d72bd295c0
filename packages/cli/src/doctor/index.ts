/**
 * `kanban-db doctor`: why a board is stuck or broken, as findings with the action for each. It never
 * writes to the board: a SQLite board is read through a read-only connection that creates no
 * sidecar (see `read-only-view.ts`), a Postgres board through a session whose every transaction is
 * read-only.
 * @packageDocumentation
 */
import type { BoardTarget } from '../board-target.js'
import { worstSeverity, type DoctorFinding, type DoctorReport } from './finding.js'
import { postgresFindings } from './postgres-doctor.js'
import { sqliteFindings } from './sqlite-doctor.js'

export { formatDoctorReport } from './format-report.js'
export { bySeverity, worstSeverity, type DoctorFinding, type DoctorReport, type DoctorSeverity } from './finding.js'

/** A transaction open longer than this is a `long-transaction` finding (Postgres). */
export const DEFAULT_LONG_TRANSACTION_MS = 60_000

/** What {@link runDoctor} takes besides the board. */
export interface DoctorOptions {
  /** Stops between checks (the doctor then rejects with the signal's reason). */
  readonly signal?: AbortSignal
  /** Postgres: report transactions open longer than this. Default {@link DEFAULT_LONG_TRANSACTION_MS}. */
  readonly longTransactionMs?: number
}

/**
 * Looks at the board `target` names and returns what it found: every check contributes findings,
 * `ok` ones included, so a healthy board shows what was checked. A check that cannot run is a
 * `doctor-check-failed` warning, never an exception; only an abort rejects.
 */
export async function runDoctor(target: BoardTarget, options: DoctorOptions = {}): Promise<DoctorReport> {
  options.signal?.throwIfAborted()
  let findings: DoctorFinding[]
  let shown: string
  if (target.engine === 'sqlite') {
    shown = target.path
    findings = await sqliteFindings(target.path, options.signal)
  } else {
    shown = withoutPassword(target.connectionString, target.schema)
    findings = await postgresFindings({
      connectionString: target.connectionString,
      schema: target.schema,
      longTransactionMs: options.longTransactionMs ?? DEFAULT_LONG_TRANSACTION_MS,
      signal: options.signal,
    })
  }
  return { target: shown, engine: target.engine, findings, checkedAt: new Date().toISOString(), worst: worstSeverity(findings) }
}

function withoutPassword(connectionString: string, schema: string | undefined): string {
  try {
    const url = new URL(connectionString)
    if (url.password !== '') url.password = '***'
    if (schema !== undefined) url.searchParams.set('schema', schema)
    return url.toString()
  } catch {
    return '(a PostgreSQL connection string)'
  }
}

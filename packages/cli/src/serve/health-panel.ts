import type { BoardTarget } from '../board-target.js'
import { html, type SafeHtml } from './html.js'

/** One doctor finding, as the panel shows it. */
export interface HealthFinding {
  readonly id: string
  readonly severity: 'ok' | 'info' | 'warning' | 'error'
  readonly title: string
  readonly detail: string
  readonly action?: string
}

/** Runs the doctor on a board (the `kanban-db doctor` command's checks); `signal` stops it between checks. */
export type DoctorRun = (target: BoardTarget, options: { readonly signal: AbortSignal }) => Promise<{ readonly findings: readonly HealthFinding[] }>

/** Most findings the panel lists (the most severe first); `kanban-db doctor` lists them all. */
export const HEALTH_FINDINGS_SHOWN = 20

/** How long a doctor report is shown before the next look is started. */
export const HEALTH_REFRESH_MS = 60_000

type HealthState =
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'checking' }
  | { readonly kind: 'report'; readonly findings: readonly HealthFinding[]; readonly at: number }
  | { readonly kind: 'failed'; readonly message: string; readonly at: number }

const ORDER = { error: 0, warning: 1, info: 2, ok: 3 } as const

/**
 * The doctor's findings as the board's health panel. The doctor runs in the background (it may
 * read the whole file for an integrity check): the panel shows the last report, `refresh` starts a
 * new run once the report is older than {@link HEALTH_REFRESH_MS}, and `onChange` hears when a run ends.
 */
export class HealthPanel {
  private state: HealthState
  private running: Promise<void> | undefined
  private readonly stop = new AbortController()

  constructor(
    private readonly target: BoardTarget,
    private readonly doctor: DoctorRun | undefined,
    private readonly onChange: () => void,
  ) {
    this.state = doctor ? { kind: 'checking' } : { kind: 'unavailable' }
  }

  /** Starts a doctor run unless one runs or the last report is recent. */
  refresh(): void {
    if (!this.doctor || this.running || this.stop.signal.aborted) return
    if ((this.state.kind === 'report' || this.state.kind === 'failed') && Date.now() - this.state.at < HEALTH_REFRESH_MS) return
    const doctor = this.doctor
    this.running = (async () => {
      try {
        const report = await doctor(this.target, { signal: this.stop.signal })
        this.state = { kind: 'report', findings: report.findings, at: Date.now() }
      } catch (error) {
        this.state = { kind: 'failed', message: error instanceof Error ? error.message : String(error), at: Date.now() }
      } finally {
        this.running = undefined
      }
      if (!this.stop.signal.aborted) this.onChange()
    })()
  }

  /** Stops a run in progress at its next check and waits for it (closing the server). */
  async close(): Promise<void> {
    this.stop.abort(new Error('the live board is closing'))
    await this.running
  }

  /** The panel's HTML. */
  render(): SafeHtml {
    const state = this.state
    const body = (() => {
      switch (state.kind) {
        case 'unavailable':
          return html`<p class="muted">doctor unavailable</p>`
        case 'checking':
          return html`<p class="muted">checking…</p>`
        case 'failed':
          return html`<p class="finding error">The doctor could not finish: ${state.message}</p>`
        case 'report': {
          const findings = [...state.findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity])
          const worst = findings[0]?.severity ?? 'ok'
          const hidden = findings.length - HEALTH_FINDINGS_SHOWN
          return html`<p class="summary ${worst}">${summary(findings)} · checked ${new Date(state.at).toISOString().slice(11, 19)} UTC</p><ul class="findings">${findings.slice(0, HEALTH_FINDINGS_SHOWN).map(
            (f) => html`<li class="finding ${f.severity}" data-finding="${f.id}"><span class="severity">${f.severity}</span> <strong>${f.title}</strong>${f.detail ? html`<div class="detail">${f.detail}</div>` : ''}${f.action ? html`<div class="action">→ ${f.action}</div>` : ''}</li>`,
          )}</ul>${hidden > 0 ? html`<p class="muted">+${hidden} more: kanban-db doctor lists them all</p>` : ''}`
        }
      }
    })()
    return html`<section id="health" class="panel"><h2>Health</h2>${body}</section>`
  }
}

function summary(findings: readonly HealthFinding[]): string {
  const n = (severity: HealthFinding['severity']) => findings.filter((f) => f.severity === severity).length
  const errors = n('error')
  const warnings = n('warning')
  if (errors + warnings === 0) return `healthy (${findings.length} checks)`
  return [errors ? `${errors} error${errors > 1 ? 's' : ''}` : '', warnings ? `${warnings} warning${warnings > 1 ? 's' : ''}` : ''].filter(Boolean).join(', ')
}

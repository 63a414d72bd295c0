/**
 * Thrown by a case (through `context.skip(reason)`) that finds at run time that it cannot apply on
 * this machine or adapter: a tool is missing, ptrace is refused, no second SQLite copy is
 * reachable. The runner reports it as `skip` with the reason, never as a pass, so the matrix cannot
 * show a case as proven when it tested nothing.
 */
export class CaseSkipped extends Error {
  readonly skipReason: string
  constructor(reason: string) {
    super(`skipped: ${reason}`)
    this.name = 'CaseSkipped'
    this.skipReason = reason
  }
}

/** The reason when `error` is a {@link CaseSkipped} (also from another copy of this package). */
export function skipReasonOf(error: unknown): string | undefined {
  const reason = typeof error === 'object' && error !== null ? (error as { skipReason?: unknown }).skipReason : undefined
  return typeof reason === 'string' ? reason : undefined
}

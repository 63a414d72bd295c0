import type { FileFingerprint } from './file-fingerprint.js'
import { sameFingerprint } from './file-fingerprint.js'

/** How long a quarantined board waits between probes. */
export interface QuarantinePolicy {
  /** Wait before the first probe. Default 30,000 ms. */
  readonly initialBackoffMs: number
  /** Each failed probe multiplies the wait by this. Default 2. */
  readonly multiplier: number
  /** The wait never grows past this. Default 1,800,000 ms (30 min). */
  readonly maxBackoffMs: number
}

/** The defaults: 30 s doubling to 30 min. */
export const defaultQuarantinePolicy: QuarantinePolicy = Object.freeze({
  initialBackoffMs: 30_000,
  multiplier: 2,
  maxBackoffMs: 30 * 60_000,
})

/** The policy with `overrides` applied field by field. */
export function resolveQuarantinePolicy(overrides: Partial<QuarantinePolicy> = {}): QuarantinePolicy {
  return Object.freeze({ ...defaultQuarantinePolicy, ...overrides })
}

/**
 * One board in quarantine: confirmed corrupt, closed, and never written to until it is let out.
 * It is let out when its file changes (a restore) or when a probe at `nextProbeAt` finds it healthy.
 */
export interface QuarantineRecord {
  /** When it entered quarantine (ms since the epoch, from the caller's clock). */
  readonly since: number
  /** Why, for people: what the failing operation and the confirming probe said. */
  readonly reason: string
  /** The stable code of the error that set it off, when it had one. */
  readonly code: string | undefined
  /** The file as it was when quarantined; any change lets the board out. */
  readonly fingerprint: FileFingerprint
  /**
   * The `-wal` as it was when quarantined. While an unchanged, non-empty `-wal` lies beside a
   * replaced file it is the damaged file's: opening would replay it onto the new file.
   */
  readonly walFingerprint: FileFingerprint
  /** Probes that found the file still corrupt (or could not tell). */
  readonly failedProbes: number
  /** The current wait between probes. */
  readonly backoffMs: number
  /** When the next probe is due. */
  readonly nextProbeAt: number
}

/** What a supervisor should do with a quarantined board now. */
export type QuarantineStep =
  /** Nothing: the file is unchanged and no probe is due. */
  | 'wait'
  /** The file changed since it was quarantined: let it out and open it again. */
  | 'file-changed'
  /** The backoff has passed: probe the file afresh. */
  | 'probe'

/** A new quarantine record: the first probe is due after the initial backoff. */
export function enterQuarantine(
  now: number,
  reason: string,
  code: string | undefined,
  fingerprint: FileFingerprint,
  policy: QuarantinePolicy = defaultQuarantinePolicy,
  walFingerprint: FileFingerprint = MISSING,
): QuarantineRecord {
  const backoffMs = Math.min(policy.initialBackoffMs, policy.maxBackoffMs)
  return { since: now, reason, code, fingerprint, walFingerprint, failedProbes: 0, backoffMs, nextProbeAt: now + backoffMs }
}

/**
 * True when the `-wal` beside the file now is the quarantined file's own (same inode, size and
 * mtime, not empty): it must be removed before the replacement is opened.
 */
export function hasStaleWal(record: QuarantineRecord, currentWal: FileFingerprint): boolean {
  return currentWal.exists && currentWal.size !== '0' && sameFingerprint(record.walFingerprint, currentWal)
}

const MISSING: FileFingerprint = Object.freeze({ exists: false, device: '', inode: '', size: '', mtimeNs: '' })

/**
 * What to do with `record` at `now`, given the file's fingerprint now. A changed file wins over the
 * backoff; a missing file waits (a supervisor must not create an empty board where a damaged one
 * was removed: it waits for a file to be put in place).
 */
export function quarantineStep(record: QuarantineRecord, now: number, current: FileFingerprint): QuarantineStep {
  if (!current.exists) return 'wait'
  if (!sameFingerprint(record.fingerprint, current)) return 'file-changed'
  return now >= record.nextProbeAt ? 'probe' : 'wait'
}

/** The record after a probe that did not let the board out: the wait grows, up to the cap. */
export function afterFailedProbe(record: QuarantineRecord, now: number, policy: QuarantinePolicy = defaultQuarantinePolicy): QuarantineRecord {
  const backoffMs = Math.min(Math.max(1, Math.round(record.backoffMs * policy.multiplier)), policy.maxBackoffMs)
  return { ...record, failedProbes: record.failedProbes + 1, backoffMs, nextProbeAt: now + backoffMs }
}

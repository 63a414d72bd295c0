import type { Kysely } from 'kysely'
import type { BoardSchema, TaskRow } from '../schema/board-schema.js'
import { statusLiteral } from './literals.js'

/**
 * The clock-ahead guard. Where each process reads its own clock (SQLite; any engine given a `clock`
 * option), a reclaimer whose clock runs ahead sees every live lease as expired. Its only witness
 * that a lease ran out is its own clock; the board's records are another: every claim, heartbeat
 * and event carries the time its writer read. A live worker keeps its claim's expiry past the
 * latest of those times by heartbeating.
 *
 * So when this board's clock reads more than {@link CLOCK_AHEAD_TOLERANCE_MS} past the latest time
 * the board has recorded, an expired claim is taken back at once only if the board has recorded a
 * time at or past its expiry (another writer saw it expire). The others are deferred: such a claim
 * is taken back by a later call on the same open board once a whole lease has passed by this
 * board's clock since it was first deferred, if the claim has shown no sign of life meanwhile (its
 * heartbeat and expiry unchanged). A live worker heartbeats within its lease, so its claim is never
 * taken back; a dead worker's claim goes back one lease late. A clock behind is harmless here: it
 * sees fewer leases expired.
 *
 * A board quiet for longer than the tolerance looks the same as a clock ahead, so its expired
 * claims also wait one more lease (and a releaser that calls once and closes leaves them to the
 * next). An explicit `now` passed to `releaseStaleClaims` is taken as given: it is how an operator
 * says every lease that ends by then is over. The Dispatcher passes none, so the guard covers it.
 */

/** How far this board's clock may run past the latest time the board recorded before the guard acts (ms). */
export const CLOCK_AHEAD_TOLERANCE_MS = 60_000

/** Set to `off` to turn the clock guards off (only to show the hazards in tests). */
export const CLOCK_GUARDS_ENV = 'KANBAN_DB_CLOCK_GUARDS'

/** True unless the environment turns the clock guards off. */
export function clockGuardsEnabled(): boolean {
  return process.env[CLOCK_GUARDS_ENV] !== 'off'
}

/**
 * `health().clockSkew`: this board's clock reads more than the tolerance past the latest time the
 * board has recorded, and some claims have expired by this clock only.
 */
export interface ClockSkew {
  /** How far this board's clock reads past the latest time recorded on the board (ms). */
  readonly aheadMs: number
  /** The latest time the board has recorded (a claim, a heartbeat, an event), ms since the epoch. */
  readonly latestRecordedAt: number
  /** {@link CLOCK_AHEAD_TOLERANCE_MS}. */
  readonly toleranceMs: number
  /** Claims expired by this board's clock whose expiry the board has not recorded a time past. */
  readonly unwitnessedClaims: number
}

/**
 * The latest time the board has recorded: the newest event's, and the latest claim or heartbeat
 * time of the claims held now (heartbeats write no event). Undefined on a board with neither.
 */
export async function latestRecordedTime(db: Kysely<BoardSchema>): Promise<number | undefined> {
  const claims = await db
    .selectFrom('tasks')
    .select((eb) => [eb.fn.max('claimed_at').as('claimed'), eb.fn.max('heartbeat_at').as('beat')])
    .where('status', 'in', [statusLiteral('running'), statusLiteral('review')])
    .where('claim_token', 'is not', null)
    .executeTakeFirst()
  const event = await db.selectFrom('events').select('created_at').orderBy('id', 'desc').limit(1).executeTakeFirst()
  const times = [claims?.claimed, claims?.beat, event?.created_at].filter((time) => time !== null && time !== undefined).map(Number)
  return times.length === 0 ? undefined : Math.max(...times)
}

/** Claims (running, or a reviewer's) whose lease ran out by `now` (a plain read). */
export async function claimsExpiredBy(db: Kysely<BoardSchema>, now: number): Promise<TaskRow[]> {
  return db
    .selectFrom('tasks')
    .selectAll()
    .where('status', 'in', [statusLiteral('running'), statusLiteral('review')])
    .where('claim_token', 'is not', null)
    .where('claim_expires_at', '<=', now)
    .execute()
}

/** The skew `now` shows against `latest` for these expired claims; undefined when within the tolerance or none is unwitnessed. */
export function clockSkewOf(latest: number | undefined, now: number, expired: readonly TaskRow[]): ClockSkew | undefined {
  if (latest === undefined || now - latest <= CLOCK_AHEAD_TOLERANCE_MS) return undefined
  const unwitnessed = expired.filter((claim) => Number(claim.claim_expires_at) > latest).length
  if (unwitnessed === 0) return undefined
  return { aheadMs: now - latest, latestRecordedAt: latest, toleranceMs: CLOCK_AHEAD_TOLERANCE_MS, unwitnessedClaims: unwitnessed }
}

interface Deferral {
  readonly claimToken: string | null
  readonly heartbeatAt: number | null
  readonly expiresAt: number
  /** This board's clock when the claim was first deferred. */
  readonly since: number
}

/** The deferred claims of one open board, and the decision for each expired claim. */
export class ClockAheadGuard {
  readonly #deferred = new Map<string, Deferral>()

  /**
   * Of `expired` (claims whose lease ran out by `now`, this board's clock), those that may be taken
   * back now; the others are remembered as deferred.
   */
  mayRelease(latest: number | undefined, now: number, expired: readonly TaskRow[]): (claim: TaskRow) => boolean {
    const skew = clockSkewOf(latest, now, expired)
    if (skew === undefined) {
      this.#deferred.clear()
      return () => true
    }
    const allowed = new Set<string>()
    const seen = new Set<string>()
    for (const claim of expired) {
      seen.add(claim.id)
      const expiresAt = Number(claim.claim_expires_at)
      if (expiresAt <= skew.latestRecordedAt) {
        allowed.add(claim.id)
        continue
      }
      const heartbeatAt = claim.heartbeat_at === null ? null : Number(claim.heartbeat_at)
      const earlier = this.#deferred.get(claim.id)
      const unchanged = earlier !== undefined && earlier.claimToken === claim.claim_token && earlier.heartbeatAt === heartbeatAt && earlier.expiresAt === expiresAt
      if (unchanged && now - earlier.since >= Number(claim.lease_ms ?? 0)) {
        allowed.add(claim.id)
        this.#deferred.delete(claim.id)
      } else if (!unchanged) {
        this.#deferred.set(claim.id, { claimToken: claim.claim_token, heartbeatAt, expiresAt, since: now })
      }
    }
    for (const id of [...this.#deferred.keys()]) if (!seen.has(id)) this.#deferred.delete(id)
    return (claim) => allowed.has(claim.id)
  }
}

import type { Kysely } from 'kysely'
import { ClaimMismatch } from '../errors/errors.js'
import type { BoardSchema, EventRow, SubscriptionRow } from '../schema/board-schema.js'
import { newClaimToken } from './ids.js'
import { toEvent } from './rows.js'
import { invalid } from './validate.js'
import type { EventBatch } from './types.js'
import { ONE_ROW } from './literals.js'
import { forUpdate } from './row-locks.js'

/**
 * Notification subscriptions: each subscriber has a cursor (the last event id delivered and
 * acknowledged). A notifier takes the next batch under a lease and acknowledges it; while the lease
 * runs no other notifier of the same subscriber gets events, so two notifier processes never deliver
 * one event twice, and the cursor only moves past events that were acknowledged, so none is skipped.
 * A notifier that dies mid-batch loses its lease at expiry and the batch is taken again.
 *
 * Event ids never go backwards in commit order: on SQLite every write is one BEGIN IMMEDIATE
 * transaction; on Postgres each event gets its final id at COMMIT under the event log's order lock.
 * So an event with a smaller id can never commit after a larger one was read (outside a write: the
 * board takes cursors only there).
 */

/** What a subscription delivers: events of one task, of some kinds, or everything (both null). */
export interface SubscriptionScope {
  readonly taskId: string | null
  /** Sorted, distinct kinds as a JSON array; null: every kind. */
  readonly kindsJson: string | null
}

/** Every event. */
export const WHOLE_LOG: SubscriptionScope = Object.freeze({ taskId: null, kindsJson: null })

/**
 * Creates the subscription if it does not exist (its cursor at the start, or at the newest event),
 * with its scope. An existing subscription keeps its cursor; asked for with another scope it is
 * refused (`InvalidInput`), so two programs cannot share one name for different deliveries.
 */
export async function subscribeIn(trx: Kysely<BoardSchema>, subscriber: string, fromNow: boolean, now: number, scope: SubscriptionScope = WHOLE_LOG): Promise<number> {
  const existing = await trx.selectFrom('subscriptions').select(['last_event_id', 'task_id', 'kinds']).where('id', '=', subscriber).executeTakeFirst()
  if (existing) {
    assertSameScope(subscriber, existing, scope)
    return Number(existing.last_event_id)
  }
  let cursor = 0
  if (fromNow) {
    const newest = await trx.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst()
    cursor = Number(newest?.id ?? 0)
  }
  // Two subscribers of one name created at once (where writers run concurrently): the second
  // insert does nothing and both return the cursor that was stored.
  await trx
    .insertInto('subscriptions')
    .values({ id: subscriber, last_event_id: cursor, created_at: now, updated_at: now, task_id: scope.taskId, kinds: scope.kindsJson })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute()
  const stored = await trx.selectFrom('subscriptions').select(['last_event_id', 'task_id', 'kinds']).where('id', '=', subscriber).executeTakeFirstOrThrow()
  assertSameScope(subscriber, stored, scope)
  return Number(stored.last_event_id)
}

function assertSameScope(subscriber: string, stored: { task_id: string | null; kinds: string | null }, scope: SubscriptionScope): void {
  if (stored.task_id === scope.taskId && stored.kinds === scope.kindsJson) return
  const describe = (taskId: string | null, kinds: string | null) => `task ${taskId ?? '(any)'}, kinds ${kinds ?? '(any)'}`
  throw invalid(
    'options',
    `the subscription ${subscriber} exists with another scope (${describe(stored.task_id, stored.kinds)}; asked for ${describe(scope.taskId, scope.kindsJson)}); ` +
      'use another subscriber name, or unsubscribe it first',
    { subscriber },
  )
}

/** Removes the subscription (its cursor and any leased batch). True when it existed. */
export async function unsubscribeIn(trx: Kysely<BoardSchema>, subscriber: string): Promise<boolean> {
  const deleted = await trx.deleteFrom('subscriptions').where('id', '=', subscriber).executeTakeFirst()
  return Number(deleted.numDeletedRows) > 0
}

/**
 * True when `takeEvents` may find something: no other notifier holds an unexpired lease and an event
 * follows the cursor (a plain read, so idle notifiers never take the write lock).
 */
export async function mayTakeEvents(db: Kysely<BoardSchema>, subscriber: string, now: number): Promise<boolean> {
  const subscription = await loadSubscription(db, subscriber)
  if (subscription.lease_token !== null && Number(subscription.lease_expires_at) > now) return false
  const next = await db.selectFrom('events').select('id').where('id', '>', Number(subscription.last_event_id)).limit(ONE_ROW).executeTakeFirst()
  return next !== undefined
}

/**
 * Leases the events after the subscriber's cursor (up to `limit`) to one notifier. Undefined when
 * another notifier holds an unexpired lease or no event is waiting.
 */
export async function takeEventsIn(trx: Kysely<BoardSchema>, subscriber: string, limit: number, leaseMs: number, now: number): Promise<EventBatch | undefined> {
  const subscription = await loadSubscription(trx, subscriber, { lock: true })
  if (subscription.lease_token !== null && Number(subscription.lease_expires_at) > now) return undefined
  const cursor = Number(subscription.last_event_id)
  let rows: EventRow[]
  let untilEventId: number
  if (subscription.task_id === null && subscription.kinds === null) {
    rows = await trx.selectFrom('events').selectAll().where('id', '>', cursor).orderBy('id').limit(limit).execute()
    if (rows.length === 0) return undefined
    untilEventId = Number(rows[rows.length - 1]!.id)
  } else {
    // A scoped subscription reads up to the newest event first, then its events up to there: the
    // cursor may then move past the events it does not deliver, but never past one committed after
    // that first read (which could be one of its own).
    const newest = await trx.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).where('id', '>', cursor).executeTakeFirst()
    if (newest?.id === null || newest?.id === undefined) return undefined
    const upTo = Number(newest.id)
    let query = trx.selectFrom('events').selectAll().where('id', '>', cursor).where('id', '<=', upTo)
    if (subscription.task_id !== null) query = query.where('task_id', '=', subscription.task_id)
    if (subscription.kinds !== null) query = query.where('kind', 'in', JSON.parse(subscription.kinds) as string[])
    rows = await query.orderBy('id').limit(limit).execute()
    untilEventId = rows.length === limit ? Number(rows[rows.length - 1]!.id) : upTo
    if (rows.length === 0) {
      // Nothing of its scope: the cursor moves past what it will never deliver (no lease needed),
      // so pruning the log is not held back by it.
      await trx.updateTable('subscriptions').set({ last_event_id: untilEventId, updated_at: now }).where('id', '=', subscriber).execute()
      return undefined
    }
  }
  const leaseToken = newClaimToken()
  await trx
    .updateTable('subscriptions')
    .set({ lease_token: leaseToken, lease_expires_at: now + leaseMs, lease_until_event_id: untilEventId, updated_at: now })
    .where('id', '=', subscriber)
    .execute()
  return { subscriber, leaseToken, events: rows.map(toEvent), untilEventId }
}

/** Moves the cursor past the leased batch. `ClaimMismatch` when the lease was lost to another notifier. */
export async function ackEventsIn(trx: Kysely<BoardSchema>, subscriber: string, leaseToken: string, now: number): Promise<number> {
  const subscription = await loadSubscription(trx, subscriber, { lock: true })
  if (subscription.lease_token !== leaseToken || subscription.lease_until_event_id === null) {
    throw new ClaimMismatch(
      `Cannot acknowledge events of subscription ${subscriber}: the lease is not this batch's (it expired and another notifier took the events again). ` +
        'The cursor was not moved; take the next batch.',
      { details: { subscriber, cursor: Number(subscription.last_event_id) } },
    )
  }
  const cursor = Number(subscription.lease_until_event_id)
  await trx
    .updateTable('subscriptions')
    .set({ last_event_id: cursor, lease_token: null, lease_expires_at: null, lease_until_event_id: null, updated_at: now })
    .where('id', '=', subscriber)
    .where('lease_token', '=', leaseToken)
    .execute()
  return cursor
}

async function loadSubscription(db: Kysely<BoardSchema>, subscriber: string, options: { readonly lock?: boolean } = {}): Promise<SubscriptionRow> {
  // Inside a write, locked (where rows are locked) so two notifiers cannot both lease one batch.
  const query = db.selectFrom('subscriptions').selectAll().where('id', '=', subscriber)
  const row = await (options.lock ? forUpdate(db, query) : query).executeTakeFirst()
  if (!row) throw invalid('subscriber', `no subscription named ${subscriber}; call subscribe(${JSON.stringify(subscriber)}) first`, subscriber)
  return row
}

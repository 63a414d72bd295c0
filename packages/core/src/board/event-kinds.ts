import type { EventKind } from './types.js'

/** Every kind of event the board writes (what `subscribe`'s `kinds` may name). */
export const EVENT_KINDS = [
  'created', 'dependency_added', 'dependency_removed', 'promoted', 'claimed', 'completed', 'failed', 'retried', 'expired', 'crashed',
  'blocked', 'unblocked', 'archived', 'commented', 'gave-up', 'requeued', 'accepted', 'scheduled', 'due', 'review-requested',
  'review-claimed', 'review-released', 'approved', 'rejected', 'attachment-added', 'extended', 'released', 'reassigned', 'reclaimed',
] as const satisfies readonly EventKind[]

// Fails to compile when EventKind gains a kind this list lacks.
type Missing = Exclude<EventKind, (typeof EVENT_KINDS)[number]>
const complete: [Missing] extends [never] ? true : Missing = true
void complete

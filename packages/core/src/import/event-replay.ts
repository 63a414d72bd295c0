import { canTransition, TASK_STATUSES, transitions, type TaskAction, type TaskStatus } from '../board/transitions.js'
import type { EventKind, JsonObject, JsonValue } from '../board/types.js'
import type { SourceRow } from './python-source.js'

/**
 * Turns a Python task's event log into kanban-db events whose statuses chain (each event starts at
 * the status the previous one ended at, the first at null, the last at the task's status) and whose
 * every move is a transition `src/board/transitions.ts` allows.
 *
 * The Python log has kinds but no statuses, so the history is replayed: each source event is
 * mapped to the first candidate kanban-db kind whose transition is allowed from the status reached
 * so far. A source event with no such candidate (a kind kanban-db has no word for, like `assigned`,
 * or a move the replayed history does not allow) is kept verbatim in the payload of the preceding
 * written event (`imported.folded`), never lost. When the replay ends elsewhere than the task's
 * status (events pruned, a running task released by the import), the shortest allowed path there
 * is written as synthesized events (`imported.synthesized`).
 */

/** One event to write, in order. */
export interface ReplayedEvent {
  readonly kind: EventKind
  readonly from: TaskStatus | null
  readonly to: TaskStatus
  readonly runId: string | null
  readonly createdAt: number
  /** The source event id it stands for; null for a synthesized event. */
  readonly sourceId: number | null
  readonly payload: JsonObject
}

/** A kanban-db kind for a source kind: `to` 'keep' leaves the status as it is. */
interface Candidate {
  readonly kind: EventKind
  readonly action: TaskAction | 'any'
  readonly to: TaskStatus | 'keep'
}

const keep = (kind: EventKind, action: TaskAction | 'any' = 'any'): Candidate => ({ kind, action, to: 'keep' })
const move = (kind: EventKind, action: TaskAction, to: TaskStatus): Candidate => ({ kind, action, to })

/** A reviewer's claim or lease ended on the Python board: kanban-db keeps the task in review. */
const REVIEW_RELEASED = keep('review-released', 'release-review')
/** The Python board gave up on the task (its breaker tripped). */
const GAVE_UP: readonly Candidate[] = [move('gave-up', 'fail', 'blocked'), move('gave-up', 'crash', 'blocked'), move('gave-up', 'block', 'blocked')]

/**
 * Source kinds (the kinds hermes-agent's board appends) and the kanban-db kinds they may become,
 * first allowed wins. A Python review claim moves the task to running; kanban-db keeps a task in
 * review while a reviewer holds it, so the end of a reviewer's attempt keeps `review`.
 */
const CANDIDATES: Readonly<Record<string, readonly Candidate[]>> = {
  promoted: [move('promoted', 'promote', 'ready'), move('unblocked', 'unblock', 'ready')],
  claimed: [move('claimed', 'claim', 'running')],
  claim_rejected: [move('dependency_added', 'depend', 'todo')],
  claim_extended: [keep('extended', 'heartbeat')],
  completed: [move('completed', 'complete', 'done'), move('approved', 'approve', 'done')],
  blocked: [move('blocked', 'block', 'blocked')],
  dependency_wait: [move('blocked', 'block', 'todo')],
  block_loop_detected: [move('blocked', 'block', 'triage')],
  unblocked: [move('unblocked', 'unblock', 'ready'), move('unblocked', 'unblock', 'todo')],
  archived: [move('archived', 'archive', 'archived')],
  gave_up: GAVE_UP,
  spawn_auto_blocked: GAVE_UP,
  crashed: [move('crashed', 'crash', 'ready'), REVIEW_RELEASED],
  timed_out: [move('retried', 'fail', 'ready'), REVIEW_RELEASED],
  spawn_failed: [move('retried', 'fail', 'ready')],
  reclaimed: [move('expired', 'expire', 'ready'), REVIEW_RELEASED],
  assigned: [keep('reassigned', 'reassign')],
  unlinked: [keep('dependency_removed', 'undepend')],
  stale: [move('expired', 'expire', 'ready'), REVIEW_RELEASED],
  released: [move('released', 'release', 'ready'), REVIEW_RELEASED],
  rate_limited: [move('requeued', 'fail', 'ready'), REVIEW_RELEASED],
  review_requested: [move('review-requested', 'request-review', 'review')],
  changes_requested: [move('rejected', 'reject', 'ready')],
  scheduled: [move('scheduled', 'schedule', 'scheduled')],
  linked: [keep('dependency_added', 'depend')],
  commented: [keep('commented')],
  attached: [keep('attachment-added')],
  heartbeat: [keep('extended', 'heartbeat')],
}

/** A claim of a task waiting in review (the claimed event's `source_status`): kanban-db keeps review. */
const REVIEW_CLAIM: readonly Candidate[] = [keep('review-claimed', 'claim-review')]

/** An operator's reclaim (`reclaimed` with `manual`): kanban-db's `reclaim`. */
const MANUAL_RECLAIM: readonly Candidate[] = [move('reclaimed', 'reclaim', 'ready'), keep('reclaimed', 'reclaim')]

/** At most this many moves stand in for one source event whose move kanban-db makes in steps. */
const MAX_STEPS = 3

/** Statuses a Python `created` event may start at (kanban-db's `create` targets). */
const CREATE_TARGETS = transitions.create.to

/** Input of {@link replayEvents}. */
export interface ReplayInput {
  /** The task's source events, ids ascending. */
  readonly events: readonly SourceRow[]
  /** The task's status on the target board. */
  readonly finalStatus: TaskStatus
  /** True when the task has dependencies (a created event without a status starts at todo). */
  readonly hasParents: boolean
  /** Ms since the epoch: when the task was created, and its newest time (for synthesized events). */
  readonly createdAt: number
  readonly lastAt: number
  /** Maps a source run id to the target's run id (null when that run was not imported). */
  readonly runId: (sourceRunId: unknown) => string | null
  /** Why the final status differs from the source's, for the synthesized events' payload. */
  readonly finalReason?: string
}

export interface ReplayResult {
  readonly events: ReplayedEvent[]
  readonly folded: number
  readonly synthesized: number
}

/** Replays one task's source events; see the module comment. */
export function replayEvents(input: ReplayInput): ReplayResult {
  const out: Array<ReplayedEvent & { payload: JsonObject & { imported: JsonObject & { folded?: JsonValue[] } } }> = []
  let status: TaskStatus | null = null
  let folded = 0
  let synthesizedSteps = 0
  let pendingFolds: JsonValue[] = []
  const fold = (event: JsonObject): void => {
    folded++
    const last = out.at(-1)
    if (last) (last.payload.imported.folded ??= []).push(event)
    else pendingFolds.push(event)
  }
  for (const row of input.events) {
    const sourceId = Number(row['id'])
    const kind = String(row['kind'])
    const payload = parsePayload(row['payload'])
    const createdAt = seconds(row['created_at']) ?? input.createdAt
    const verbatim: JsonObject = { id: sourceId, kind, payload, createdAt, runId: row['run_id'] === null || row['run_id'] === undefined ? null : Number(row['run_id']) }
    let chosen: { kind: EventKind; to: TaskStatus } | undefined
    if (kind === 'created') {
      if (status === null) {
        const asked = typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload['status'] : undefined
        const to = (CREATE_TARGETS as readonly unknown[]).includes(asked) ? (asked as TaskStatus) : input.hasParents ? 'todo' : 'ready'
        chosen = { kind: 'created', to }
      }
    } else if (status !== null) {
      const reviewClaim = kind === 'claimed' && isObject(payload) && payload['source_status'] === 'review'
      const manualReclaim = kind === 'reclaimed' && isObject(payload) && payload['manual'] === true
      const candidates = reviewClaim ? REVIEW_CLAIM : manualReclaim ? MANUAL_RECLAIM : (CANDIDATES[kind] ?? [])
      for (const candidate of candidates) {
        const to = candidate.to === 'keep' ? status : candidate.to
        if (candidate.action === 'any' || canTransition(candidate.action, status, to)) {
          chosen = { kind: candidate.kind, to }
          break
        }
      }
      // The Python board makes some moves in one step that kanban-db makes in several (complete a
      // ready task by hand, promote to review): the steps before are synthesized, the last one
      // stands for the source event.
      const target = candidates.find((candidate) => candidate.to !== 'keep')?.to
      if (!chosen && target !== undefined && target !== 'keep' && target !== status) {
        const path = shortestPath(status, target)
        if (path.length > 1 && path.length <= MAX_STEPS) {
          for (const step of path.slice(0, -1)) {
            out.push({
              kind: step.kind,
              from: status,
              to: step.to,
              runId: null,
              createdAt,
              sourceId: null,
              payload: { imported: { synthesized: true, why: `kanban-db makes the source's ${kind} from ${status} in ${path.length} steps` } },
            })
            status = step.to
            synthesizedSteps++
          }
          chosen = path.at(-1)!
        }
      }
    }
    if (!chosen) {
      fold(verbatim)
      continue
    }
    const imported: JsonObject & { folded?: JsonValue[] } = { sourceEventId: sourceId, sourceKind: kind }
    if (pendingFolds.length > 0) {
      imported.folded = pendingFolds
      pendingFolds = []
    }
    out.push({
      kind: chosen.kind,
      from: status,
      to: chosen.to,
      runId: input.runId(row['run_id']),
      createdAt,
      sourceId,
      payload: { ...(isObject(payload) ? payload : { source: payload }), imported },
    })
    status = chosen.to
  }
  let synthesized = synthesizedSteps
  if (status !== input.finalStatus) {
    const path = shortestPath(status, input.finalStatus)
    let at = Math.max(out.at(-1)?.createdAt ?? input.createdAt, status === null ? input.createdAt : input.lastAt)
    for (const step of path) {
      const imported: JsonObject & { folded?: JsonValue[] } = {
        synthesized: true,
        why: input.finalReason ?? 'the source history does not reach the task status; this event closes the chain',
      }
      if (pendingFolds.length > 0) {
        imported.folded = pendingFolds
        pendingFolds = []
      }
      out.push({ kind: step.kind, from: status, to: step.to, runId: null, createdAt: at, sourceId: null, payload: { imported } })
      status = step.to
      at = Math.max(at, input.lastAt)
      synthesized++
    }
  }
  return { events: out, folded, synthesized }
}

/** BFS neighbours in this order, so paths read naturally (claim then complete, not fail). */
const ACTION_ORDER: readonly TaskAction[] = [
  'create',
  'claim',
  'complete',
  'release',
  'block',
  'unblock',
  'archive',
  'promote',
  'accept',
  'due',
  'schedule',
  'request-review',
  'approve',
  'reject',
  'fail',
  'expire',
  'crash',
]

/** The kanban-db kind an action writes when it moves a task to `to`. */
function kindOf(action: TaskAction, to: TaskStatus): EventKind {
  switch (action) {
    case 'create':
      return 'created'
    case 'claim':
      return 'claimed'
    case 'complete':
      return 'completed'
    case 'release':
      return 'released'
    case 'block':
      return 'blocked'
    case 'unblock':
      return 'unblocked'
    case 'archive':
      return 'archived'
    case 'promote':
      return 'promoted'
    case 'accept':
      return 'accepted'
    case 'due':
      return 'due'
    case 'schedule':
      return 'scheduled'
    case 'request-review':
      return 'review-requested'
    case 'approve':
      return 'approved'
    case 'reject':
      return 'rejected'
    case 'fail':
      return to === 'blocked' ? 'gave-up' : to === 'failed' ? 'failed' : 'retried'
    case 'expire':
      return 'expired'
    case 'crash':
      return 'crashed'
    default:
      return 'blocked'
  }
}

/** The shortest allowed sequence of moves from `from` (null: a task not yet created) to `to`. */
export function shortestPath(from: TaskStatus | null, to: TaskStatus): Array<{ kind: EventKind; to: TaskStatus }> {
  type Node = TaskStatus | null
  const previous = new Map<Node, { from: Node; kind: EventKind }>()
  const queue: Node[] = [from]
  const seen = new Set<Node>([from])
  while (queue.length > 0) {
    const node = queue.shift()!
    if (node === to) break
    for (const action of ACTION_ORDER) {
      for (const next of TASK_STATUSES) {
        if (next === node || seen.has(next) || !canTransition(action, node, next)) continue
        seen.add(next)
        previous.set(next, { from: node, kind: kindOf(action, next) })
        queue.push(next)
      }
    }
  }
  const path: Array<{ kind: EventKind; to: TaskStatus }> = []
  let node: Node = to
  while (node !== from) {
    const step = previous.get(node)
    if (!step) return []
    path.unshift({ kind: step.kind, to: node as TaskStatus })
    node = step.from
  }
  return path
}

function isObject(value: JsonValue): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A JSON payload column: parsed, or kept as the raw text when it is not JSON. */
export function parsePayload(value: unknown): JsonValue {
  if (value === null || value === undefined || value === '') return null
  if (typeof value !== 'string') return typeof value === 'number' ? value : String(value)
  try {
    return JSON.parse(value) as JsonValue
  } catch {
    return value
  }
}

/** Python times are integer seconds; kanban-db's are ms. Null when not a number. */
export function seconds(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null
  const number = Number(value)
  return Number.isFinite(number) ? Math.round(number * 1000) : null
}

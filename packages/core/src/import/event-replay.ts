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

/** Source kinds (hermes-agent's `_append_event` kinds) and the kanban-db kinds they may become. */
const CANDIDATES: Readonly<Record<string, readonly Candidate[]>> = {
  promoted: [move('promoted', 'promote', 'ready')],
  claimed: [move('claimed', 'claim', 'running')],
  completed: [move('completed', 'complete', 'done'), move('approved', 'approve', 'done')],
  blocked: [move('blocked', 'block', 'blocked')],
  unblocked: [move('unblocked', 'unblock', 'ready'), move('unblocked', 'unblock', 'todo')],
  archived: [move('archived', 'archive', 'archived')],
  gave_up: [move('gave-up', 'fail', 'blocked'), move('gave-up', 'crash', 'blocked'), move('gave-up', 'block', 'blocked')],
  crashed: [move('crashed', 'crash', 'ready')],
  timed_out: [move('retried', 'fail', 'ready')],
  spawn_failed: [move('retried', 'fail', 'ready')],
  reclaimed: [move('expired', 'expire', 'ready')],
  released: [move('released', 'release', 'ready')],
  rate_limited: [move('requeued', 'fail', 'ready')],
  review_requested: [move('review-requested', 'request-review', 'review')],
  scheduled: [move('scheduled', 'schedule', 'scheduled')],
  triaged: [move('blocked', 'block', 'triage')],
  linked: [keep('dependency_added', 'depend')],
  commented: [keep('commented')],
  attached: [keep('attachment-added')],
  heartbeat: [keep('extended', 'heartbeat')],
}

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
      for (const candidate of CANDIDATES[kind] ?? []) {
        const to = candidate.to === 'keep' ? status : candidate.to
        if (candidate.action === 'any' || canTransition(candidate.action, status, to)) {
          chosen = { kind: candidate.kind, to }
          break
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
      payload: { ...(typeof payload === 'object' && payload !== null && !Array.isArray(payload) ? payload : { source: payload }), imported },
    })
    status = chosen.to
  }
  let synthesized = 0
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

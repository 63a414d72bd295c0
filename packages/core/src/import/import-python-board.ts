import type { Kysely } from 'kysely'
import type { Board } from '../board/board.js'
import type { JsonObject } from '../board/types.js'
import type { TaskStatus } from '../board/transitions.js'
import { ImportFailed, InvalidInput } from '../errors/errors.js'
import type { BoardSchema, NewEventRow, NewTaskRow, NewTaskRunRow } from '../schema/board-schema.js'
import { replayEvents, seconds } from './event-replay.js'
import { emptyCounts, type DroppedItem, type ImportProgress, type ImportReport, type ImportTable } from './import-report.js'
import {
  DROPPED_SUBSCRIPTION_COLUMNS,
  IMPORT_DEFAULT_MAX_ATTEMPTS,
  mapAttachment,
  mapComment,
  mapRun,
  mapTask,
  PYTHON_DEFAULT_FAILURE_LIMIT,
  subscriptionKey,
  type MappingContext,
} from './map-rows.js'
import { assertUnchanged, preflightSource, readPythonBoard, realPath, sourceIdentity, type PythonBoardRows, type SourceRow } from './python-source.js'
import { acyclicLinks } from './links.js'

/** What {@link importPythonBoard} takes. */
export interface ImportPythonBoardOptions {
  /** Path of the Python agent gateway's `kanban.db`. Read immutably; never changed. */
  readonly source: string
  /** The kanban-db board to import into (any engine), usually new. It is written through `writeTxn` only. */
  readonly into: Board
  /**
   * The Python dispatcher's `kanban.failure_limit` (consecutive failures at which it gives up) for
   * tasks without their own `max_retries`. Default 2, the Python board's default.
   */
  readonly failureLimit?: number
  /** `maxAttempts` of every imported task (1-1000). Default 1000: the Python board caps no attempts. */
  readonly maxAttempts?: number
  /** Tasks per transaction (each with its runs, comments, attachments and events). Default 100. */
  readonly batchSize?: number
  /** Called after each committed batch with source rows done out of the total. */
  readonly onProgress?: (progress: ImportProgress) => void
  /** Overrides the recorded source identity (default: derived from the source's oldest tasks). */
  readonly sourceId?: string
  /** The import's time in ms (closes the runs of released tasks). Default `Date.now()`. */
  readonly now?: number
}

const PARAMETERS_PER_STATEMENT = 4000

/**
 * Imports the Python agent gateway's board (`kanban.db` of NousResearch/hermes-agent) into a
 * kanban-db board: tasks with their statuses, dependencies, comments, events, runs, attachments and
 * notification subscriptions with their cursors. Returns a report of what mapped to what and what
 * was dropped, and why.
 *
 * - The source is never changed, in any journal mode: it is read through an immutable read-only
 *   open after a preflight (stat and the kernel's lock table) that refuses a board in use or with
 *   uncheckpointed data (`ImportFailed`, reason `source-busy`), and checked unchanged after reading.
 * - Idempotent: tasks keep their Python ids and record the source (`meta.imported`); other rows get
 *   ids derived from the source's identity and their own. A second import of the same source
 *   writes nothing (`report.written === 0`); an import that failed halfway resumes.
 * - Each task is written with all its rows in one transaction (batches of `batchSize` tasks), so
 *   its events always chain from null to its status, through transitions kanban-db allows (the
 *   Python log is replayed; see `replayEvents`). Dependencies follow in the same or a later batch,
 *   subscriptions last (their cursors are kanban-db event ids, final only once committed).
 * - Limits per task: `maxRetries` = the Python limit minus one (it gives up AT N failures,
 *   kanban-db AFTER `maxRetries` retries); `maxAttempts` = `options.maxAttempts`.
 * - Running tasks are released to `ready` (their claims belong to Python workers); their open runs
 *   end as `released`. Stop the Python dispatcher before importing, and start kanban-db workers on
 *   the board once this resolves.
 *
 * Errors: `InvalidInput` for a bad option (before anything is read); `ImportFailed` (reason `not-a-python-board`, `source-busy`, `source-changed`,
 * `same-file`, `unreadable`, `no-reader`) with the original error as `cause`; errors of the target
 * board (`Busy`, `ConnectionLost`, ...) as they come. Batches committed before an error stay, and a
 * second call completes the import.
 */
export async function importPythonBoard(options: ImportPythonBoardOptions): Promise<ImportReport> {
  const { source, into } = options
  const failureLimit = options.failureLimit ?? PYTHON_DEFAULT_FAILURE_LIMIT
  const maxAttempts = options.maxAttempts ?? IMPORT_DEFAULT_MAX_ATTEMPTS
  if (!Number.isSafeInteger(failureLimit) || failureLimit < 1 || failureLimit > 1001) {
    throw new InvalidInput(`failureLimit must be an integer from 1 to 1001, got ${String(failureLimit)}. Nothing was imported.`, { details: { field: 'failureLimit', value: failureLimit } })
  }
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1000) {
    throw new InvalidInput(`maxAttempts must be an integer from 1 to 1000, got ${String(maxAttempts)}. Nothing was imported.`, { details: { field: 'maxAttempts', value: maxAttempts } })
  }
  if (into.engine === 'sqlite' && realPath(into.location) === realPath(source)) {
    throw new ImportFailed(`The source ${source} and the target board are one file. Import into a new board file.`, { details: { reason: 'same-file', source } })
  }

  const facts = preflightSource(source)
  const rows = readPythonBoard(source)
  assertUnchanged(facts)

  const sourceId = options.sourceId ?? sourceIdentity(rows)
  const context: MappingContext = { sourceId, now: options.now ?? Date.now(), failureLimit, maxAttempts }
  const run = new ImportRun(options, rows, context)
  return run.execute()
}

/** One import in progress: the source's rows indexed, the report being filled. */
class ImportRun {
  private readonly counts = emptyCounts()
  private readonly dropped: DroppedItem[] = []
  private readonly statuses: ImportReport['statuses'] = {}
  private readonly taskIds: Record<string, string> = {}
  private readonly subscriptions: ImportReport['subscriptions'] = {}
  private readonly notes: string[] = []
  private tasksWithOwnLimit = 0
  private written = 0
  private done = 0
  private readonly total: number
  private readonly byTask: Record<'events' | 'runs' | 'comments' | 'attachments', Map<string, SourceRow[]>>
  private readonly parents = new Map<string, string[]>()
  private readonly keyKeeper = new Map<string, string>()
  /** Each source task's creation time (ms): a dependency's `created_at` is its child's. */
  private readonly createdAt = new Map<string, number>()
  /** Dependencies written with their child's batch by this import (`child\nparent`). */
  private readonly linksNow = new Set<string>()

  constructor(
    private readonly options: ImportPythonBoardOptions,
    private readonly rows: PythonBoardRows,
    private readonly context: MappingContext,
  ) {
    this.total = rows.tasks.length + rows.links.length + rows.comments.length + rows.events.length + rows.runs.length + rows.attachments.length + rows.subscriptions.length
    const tableOf = { events: 'task_events', runs: 'task_runs', comments: 'task_comments', attachments: 'task_attachments' } as const
    this.counts.tasks.source = rows.tasks.length
    this.counts.task_links.source = rows.links.length
    this.counts.kanban_notify_subs.source = rows.subscriptions.length
    const taskIds = new Set(rows.tasks.map((task) => String(task['id'])))
    for (const task of rows.tasks) this.createdAt.set(String(task['id']), seconds(task['created_at']) ?? 0)
    this.byTask = { events: new Map(), runs: new Map(), comments: new Map(), attachments: new Map() }
    for (const kind of ['events', 'runs', 'comments', 'attachments'] as const) {
      this.counts[tableOf[kind]].source = rows[kind].length
      for (const row of rows[kind]) {
        const taskId = String(row['task_id'])
        if (!taskIds.has(taskId)) {
          this.drop(tableOf[kind], String(row['id']), `its task ${taskId} is not in the source (the Python board has no foreign keys)`)
          this.done++
          continue
        }
        const list = this.byTask[kind].get(taskId) ?? []
        list.push(row)
        this.byTask[kind].set(taskId, list)
      }
    }
    // A repeated idempotency key (the Python board frees an archived task's key, and creates can
    // race) stays on the newest task that is not archived, else the newest.
    const byKey = new Map<string, SourceRow[]>()
    for (const task of rows.tasks) {
      const key = task['idempotency_key']
      if (typeof key === 'string' && key !== '') byKey.set(key, [...(byKey.get(key) ?? []), task])
    }
    for (const [key, tasks] of byKey) {
      const live = tasks.filter((task) => task['status'] !== 'archived')
      const keeper = (live.length > 0 ? live : tasks).at(-1)!
      this.keyKeeper.set(key, String(keeper['id']))
    }
  }

  async execute(): Promise<ImportReport> {
    const { into } = this.options
    const batchSize = Math.max(1, this.options.batchSize ?? 100)
    // Dependencies first checked on the source: missing ends, self-links and cycles are dropped.
    const links = acyclicLinks(this.rows.links, new Set(this.rows.tasks.map((task) => String(task['id']))))
    for (const bad of links.dropped) this.drop('task_links', bad.key, bad.reason)
    for (const link of links.kept) this.parents.set(link.child, [...(this.parents.get(link.child) ?? []), link.parent])

    for (let start = 0; start < this.rows.tasks.length; start += batchSize) {
      const batch = this.rows.tasks.slice(start, start + batchSize)
      const outcome = await into.writeTxn((trx) => this.writeTaskBatch(trx, batch))
      this.apply(outcome)
      this.progress('tasks')
    }
    this.done += links.dropped.length
    for (let start = 0; start < links.kept.length; start += 500) {
      const batch = links.kept.slice(start, start + 500)
      const outcome = await into.writeTxn((trx) => this.writeLinks(trx, batch))
      this.counts.task_links.imported += outcome.imported
      this.counts.task_links.alreadyImported += outcome.already
      this.written += outcome.imported - outcome.writtenBefore
      for (const item of outcome.dropped) this.drop('task_links', item.key, item.reason)
      this.done += batch.length
      this.progress('links')
    }
    for (let start = 0; start < this.rows.subscriptions.length; start += 200) {
      const batch = this.rows.subscriptions.slice(start, start + 200)
      const outcome = await into.writeTxn((trx) => this.writeSubscriptions(trx, batch))
      this.counts.kanban_notify_subs.imported += outcome.imported
      this.counts.kanban_notify_subs.alreadyImported += outcome.already
      this.written += outcome.imported
      Object.assign(this.subscriptions, outcome.mapped)
      this.dropped.push(...outcome.dropped)
      for (const item of outcome.dropped) if (item.field === undefined) this.counts.kanban_notify_subs.dropped++
      this.done += batch.length
      this.progress('subscriptions')
    }
    this.notes.push(
      "Each Python subscription became a kanban-db subscription scoped to its task (hermes:<platform>:<chat>[:<thread>]:<task>) with every kind; its routing columns (user, chat type, delivery mode, ...) are in this report's dropped list for the notifier's configuration.",
      `Limits: the Python board gives up AT ${this.context.failureLimit} consecutive failures (or a task's max_retries); kanban-db gives up AFTER maxRetries retries, so each task got maxRetries = limit - 1, and maxAttempts ${this.context.maxAttempts}.`,
      'Times: the Python board stores seconds; kanban-db stores milliseconds (multiplied by 1000).',
    )
    this.options.onProgress?.({ phase: 'done', done: this.total, total: this.total })
    return {
      source: this.options.source,
      sourceId: this.context.sourceId,
      target: into.location,
      tables: this.counts,
      statuses: this.statuses,
      taskIds: this.taskIds,
      subscriptions: this.subscriptions,
      limits: {
        failureLimit: this.context.failureLimit,
        rule: 'maxRetries = (task max_retries ?? failureLimit) - 1; maxAttempts = max(option, attempts so far + 1)',
        maxAttempts: this.context.maxAttempts,
        tasksWithOwnLimit: this.tasksWithOwnLimit,
      },
      dropped: this.dropped,
      notes: this.notes,
      written: this.written,
    }
  }

  private progress(phase: ImportProgress['phase']): void {
    this.options.onProgress?.({ phase, done: Math.min(this.done, this.total), total: this.total })
  }

  private drop(table: ImportTable, source: string, reason: string): void {
    this.dropped.push({ table, source, reason })
    this.counts[table].dropped++
  }

  /**
   * One batch of tasks, each with its runs, comments, attachments and events, in the caller's
   * transaction. Pure with respect to `this` (it may run again: a Postgres write can be retried);
   * {@link apply} records the outcome after the commit.
   */
  private async writeTaskBatch(trx: Kysely<BoardSchema>, batch: readonly SourceRow[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { tasks: [], dropped: [], rowsDone: 0, links: [] }
    const ids = batch.map((task) => String(task['id']))
    const existing = new Map<string, string>()
    for (const chunk of chunks(ids, 500)) {
      for (const row of await trx.selectFrom('tasks').select(['id', 'meta']).where('id', 'in', chunk).execute()) existing.set(row.id, row.meta)
    }
    const keys = batch.map((task) => task['idempotency_key']).filter((key): key is string => typeof key === 'string' && key !== '')
    const takenKeys = new Map<string, string>()
    for (const chunk of chunks(keys, 500)) {
      for (const row of await trx.selectFrom('tasks').select(['id', 'idempotency_key']).where('idempotency_key', 'in', chunk).execute()) takenKeys.set(row.idempotency_key!, row.id)
    }
    const tasks: NewTaskRow[] = []
    const runs: NewTaskRunRow[] = []
    const comments: ReturnType<typeof mapComment>[] = []
    const attachments: ReturnType<typeof mapAttachment>[] = []
    const events: NewEventRow[] = []
    for (const source of batch) {
      const id = String(source['id'])
      const related = {
        events: this.byTask.events.get(id) ?? [],
        runs: this.byTask.runs.get(id) ?? [],
        comments: this.byTask.comments.get(id) ?? [],
        attachments: this.byTask.attachments.get(id) ?? [],
      }
      const childRows = related.events.length + related.runs.length + related.comments.length + related.attachments.length
      outcome.rowsDone += 1 + childRows
      const already = existing.get(id)
      if (already !== undefined) {
        if (importedFrom(already) === this.context.sourceId) {
          outcome.tasks.push({ id, state: 'already', from: String(source['status']), to: undefined, related, ownLimit: false, events: 0, folded: 0, synthesized: 0 })
        } else {
          outcome.tasks.push({ id, state: 'conflict', from: String(source['status']), to: undefined, related, ownLimit: false, events: 0, folded: 0, synthesized: 0 })
        }
        continue
      }
      const reviewRuns = reviewClaimRuns(related.events)
      const runRows = related.runs.map((run, index) => mapRun(run, index + 1, source['status'] === 'running', reviewRuns.has(String(run['id'])), this.context))
      const runIds = new Map(related.runs.map((run, index) => [String(run['id']), runRows[index]!.row.id]))
      const key = typeof source['idempotency_key'] === 'string' && source['idempotency_key'] !== '' ? source['idempotency_key'] : null
      const keepsKey = key !== null && this.keyKeeper.get(key) === id && (takenKeys.get(key) ?? id) === id
      const times = [
        ...related.events.map((row) => seconds(row['created_at']) ?? 0),
        ...related.comments.map((row) => seconds(row['created_at']) ?? 0),
        ...runRows.map((run) => Math.max(run.row.started_at, run.row.ended_at ?? 0, run.row.heartbeat_at ?? 0)),
      ]
      const mapped = mapTask(
        source,
        {
          runIds: runRows.map((run) => run.row.id),
          currentRunId: source['current_run_id'] === null || source['current_run_id'] === undefined ? null : (runIds.get(String(source['current_run_id'])) ?? null),
          blockReason: lastBlockReason(related.events),
          keepsIdempotencyKey: keepsKey,
          reviewClaim: lastClaimWasReview(related.events),
          ...lastWorkOf(runRows.map((run) => run.row)),
          lastAt: Math.max(0, ...times),
        },
        this.context,
      )
      if (!mapped.ok) {
        outcome.tasks.push({ id, state: 'malformed', reason: mapped.reason, from: String(source['status']), to: undefined, related, ownLimit: false, events: 0, folded: 0, synthesized: 0 })
        continue
      }
      const replay = replayEvents({
        events: related.events,
        finalStatus: mapped.row.status as never,
        hasParents: (this.parents.get(id) ?? []).length > 0,
        createdAt: mapped.row.created_at,
        lastAt: mapped.row.updated_at,
        runId: (sourceRunId) => (sourceRunId === null || sourceRunId === undefined ? null : (runIds.get(String(sourceRunId)) ?? null)),
        ...(mapped.reason ? { finalReason: mapped.reason } : {}),
      })
      tasks.push(mapped.row)
      for (const run of runRows) {
        runs.push(run.row)
        outcome.dropped.push(...run.dropped)
      }
      outcome.dropped.push(...mapped.dropped)
      // Insertion order (seq) is the source's id order: rows of one second keep their order.
      comments.push(...related.comments.map((row, index) => mapComment(row, index + 1, this.context)))
      attachments.push(...related.attachments.map((row, index) => mapAttachment(row, index + 1, this.context)))
      for (const event of replay.events) {
        events.push({
          task_id: id,
          run_id: event.runId,
          kind: event.kind,
          from_status: event.from,
          to_status: event.to,
          payload: JSON.stringify(event.payload),
          created_at: event.createdAt,
        })
      }
      outcome.tasks.push({
        id,
        state: 'imported',
        from: mapped.from,
        to: mapped.row.status,
        related,
        ownLimit: mapped.ownLimit,
        events: replay.events.length,
        folded: replay.folded,
        synthesized: replay.synthesized,
      })
    }
    await insertAll(trx, 'tasks', tasks)
    await insertAll(trx, 'task_runs', runs)
    await insertAll(trx, 'comments', comments)
    await insertAll(trx, 'attachments', attachments)
    await insertAll(trx, 'events', events)
    // Dependencies whose both ends are on the board already go in with the child.
    const present = new Set(tasks.map((task) => task.id))
    const links: Array<{ task_id: string; depends_on_id: string; created_at: number }> = []
    for (const task of tasks) {
      for (const parent of this.parents.get(task.id) ?? []) {
        if (present.has(parent) || this.taskIds[parent] !== undefined) links.push({ task_id: task.id, depends_on_id: parent, created_at: task.created_at })
      }
    }
    for (const chunk of chunks(links, 1000)) await trx.insertInto('task_dependencies').values(chunk).onConflict((conflict) => conflict.columns(['task_id', 'depends_on_id']).doNothing()).execute()
    outcome.links = links.map((link) => `${link.task_id}\n${link.depends_on_id}`)
    return outcome
  }

  /** Records a committed batch in the report. */
  private apply(outcome: BatchOutcome): void {
    this.done += outcome.rowsDone
    for (const link of outcome.links) this.linksNow.add(link)
    this.written += outcome.links.length
    this.dropped.push(...outcome.dropped)
    for (const item of outcome.dropped) if (item.field === undefined) this.counts[item.table].dropped++
    for (const task of outcome.tasks) {
      const related: Array<[ImportTable, number]> = [
        ['task_runs', task.related.runs.length],
        ['task_comments', task.related.comments.length],
        ['task_attachments', task.related.attachments.length],
      ]
      if (task.state === 'imported') {
        this.taskIds[task.id] = task.id
        this.counts.tasks.imported++
        const status = (this.statuses[task.from] ??= { count: 0, to: {} })
        status.count++
        const to = task.to as TaskStatus
        status.to[to] = (status.to[to] ?? 0) + 1
        if (task.ownLimit) this.tasksWithOwnLimit++
        for (const [table, count] of related) this.counts[table].imported += count
        const events = this.counts.task_events
        events.imported += task.related.events.length - task.folded
        events.folded! += task.folded
        events.synthesized! += task.synthesized
        this.written += 1 + task.related.runs.length + task.related.comments.length + task.related.attachments.length + task.events
      } else if (task.state === 'already') {
        this.taskIds[task.id] = task.id
        this.counts.tasks.alreadyImported++
        for (const [table, count] of related) this.counts[table].alreadyImported += count
        this.counts.task_events.alreadyImported += task.related.events.length
      } else {
        const reason =
          task.state === 'conflict'
            ? 'the target board already has a task with this id that was not imported from this source; nothing of it was overwritten'
            : `malformed row: ${task.reason}`
        this.drop('tasks', task.id, reason)
        const status = (this.statuses[task.from] ??= { count: 0, to: {} })
        status.count++
        for (const [table, kind] of [
          ['task_runs', 'runs'],
          ['task_comments', 'comments'],
          ['task_attachments', 'attachments'],
          ['task_events', 'events'],
        ] as const) {
          for (const row of task.related[kind]) this.drop(table, String(row['id']), `its task ${task.id} was not imported`)
        }
      }
    }
  }

  private async writeLinks(trx: Kysely<BoardSchema>, batch: ReadonlyArray<{ child: string; parent: string; key: string }>): Promise<{ imported: number; already: number; writtenBefore: number; dropped: Array<{ key: string; reason: string }> }> {
    const result = { imported: 0, already: 0, writtenBefore: 0, dropped: [] as Array<{ key: string; reason: string }> }
    const children = [...new Set(batch.map((link) => link.child))]
    const existing = new Set<string>()
    for (const chunk of chunks(children, 500)) {
      for (const row of await trx.selectFrom('task_dependencies').select(['task_id', 'depends_on_id']).where('task_id', 'in', chunk).execute()) existing.add(`${row.task_id}\n${row.depends_on_id}`)
    }
    const created = this.createdAt
    const rows: Array<{ task_id: string; depends_on_id: string; created_at: number }> = []
    for (const link of batch) {
      if (this.taskIds[link.child] === undefined || this.taskIds[link.parent] === undefined) {
        result.dropped.push({ key: link.key, reason: `task ${this.taskIds[link.child] === undefined ? link.child : link.parent} was not imported` })
      } else if (existing.has(`${link.child}\n${link.parent}`)) {
        // Written with its child's batch by this import, or by an earlier import.
        if (this.linksNow.has(`${link.child}\n${link.parent}`)) {
          result.imported++
          result.writtenBefore++
        } else result.already++
      } else {
        rows.push({ task_id: link.child, depends_on_id: link.parent, created_at: created.get(link.child) ?? 0 })
      }
    }
    for (const chunk of chunks(rows, 1000)) await trx.insertInto('task_dependencies').values(chunk).onConflict((conflict) => conflict.columns(['task_id', 'depends_on_id']).doNothing()).execute()
    result.imported += rows.length
    return result
  }

  private async writeSubscriptions(
    trx: Kysely<BoardSchema>,
    batch: readonly SourceRow[],
  ): Promise<{ imported: number; already: number; mapped: ImportReport['subscriptions']; dropped: DroppedItem[] }> {
    const result = { imported: 0, already: 0, mapped: {} as ImportReport['subscriptions'], dropped: [] as DroppedItem[] }
    for (const row of batch) {
      const { key, subscriber } = subscriptionKey(row)
      const taskId = String(row['task_id'])
      if (this.taskIds[taskId] === undefined) {
        result.dropped.push({ table: 'kanban_notify_subs', source: key, reason: `its task ${taskId} was not imported` })
        continue
      }
      const stored = await trx.selectFrom('subscriptions').select('last_event_id').where('id', '=', subscriber).executeTakeFirst()
      if (stored) {
        result.already++
        result.mapped[key] = { subscriber, cursor: Number(stored.last_event_id) }
        continue
      }
      const cursor = await targetCursor(trx, taskId, Number(row['last_event_id'] ?? 0))
      const createdAt = seconds(row['created_at']) ?? this.context.now
      // Scoped to its task, like the Python subscription; every kind (the Python notifier chose what to push).
      await trx
        .insertInto('subscriptions')
        .values({ id: subscriber, last_event_id: cursor, lease_token: null, lease_expires_at: null, lease_until_event_id: null, created_at: createdAt, updated_at: createdAt, task_id: taskId, kinds: null })
        .execute()
      result.imported++
      result.mapped[key] = { subscriber, cursor }
      for (const column of DROPPED_SUBSCRIPTION_COLUMNS) {
        const value = row[column]
        if (value !== null && value !== undefined && value !== '' && value !== 0) {
          result.dropped.push({ table: 'kanban_notify_subs', source: key, field: column, value, reason: 'kanban-db subscriptions have no routing columns: configure the notifier with it' })
        }
      }
    }
    return result
  }
}

interface BatchTask {
  readonly id: string
  readonly state: 'imported' | 'already' | 'conflict' | 'malformed'
  readonly reason?: string
  readonly from: string
  readonly to: string | undefined
  readonly related: { events: SourceRow[]; runs: SourceRow[]; comments: SourceRow[]; attachments: SourceRow[] }
  readonly ownLimit: boolean
  /** Events written for it (replayed and synthesized). */
  readonly events: number
  readonly folded: number
  readonly synthesized: number
}

interface BatchOutcome {
  /** Dependencies written with their child (`child\nparent`). */
  links: string[]
  tasks: BatchTask[]
  dropped: DroppedItem[]
  rowsDone: number
}

/**
 * The kanban-db cursor for a Python subscriber that had every event of its task up to
 * `sourceCursor`: the id of the task's last imported event that stands for a source event at or
 * before it (synthesized events before such an event count as delivered, after it not); when it
 * had none, just before the task's first event.
 */
async function targetCursor(trx: Kysely<BoardSchema>, taskId: string, sourceCursor: number): Promise<number> {
  const events = await trx.selectFrom('events').select(['id', 'payload']).where('task_id', '=', taskId).orderBy('id').execute()
  if (events.length === 0) return 0
  let cursor = Number(events[0]!.id) - 1
  for (const event of events) {
    const imported = importedFacts(event.payload)
    if (imported === undefined) break
    const sourceEventId = imported['sourceEventId']
    if (typeof sourceEventId !== 'number') continue
    if (sourceEventId > sourceCursor) break
    cursor = Number(event.id)
  }
  return Math.max(0, cursor)
}

function importedFacts(payload: string | null): JsonObject | undefined {
  if (payload === null) return undefined
  try {
    const parsed = JSON.parse(payload) as { imported?: unknown }
    return typeof parsed.imported === 'object' && parsed.imported !== null ? (parsed.imported as JsonObject) : undefined
  } catch {
    return undefined
  }
}

function importedFrom(meta: string): string | undefined {
  try {
    const parsed = JSON.parse(meta) as { imported?: { source?: unknown } }
    return typeof parsed.imported?.source === 'string' ? parsed.imported.source : undefined
  } catch {
    return undefined
  }
}

/** Source ids of the runs a reviewer's claim opened (their claimed event says `source_status` review). */
function reviewClaimRuns(events: readonly SourceRow[]): Set<string> {
  const runs = new Set<string>()
  for (const event of events) {
    if (event['kind'] !== 'claimed' || event['run_id'] === null || event['run_id'] === undefined) continue
    try {
      if ((JSON.parse(String(event['payload'])) as Record<string, unknown>)['source_status'] === 'review') runs.add(String(event['run_id']))
    } catch {
      // Not JSON: an ordinary claim.
    }
  }
  return runs
}

/** The newest work attempt's worker and summary (for a task waiting in review). */
function lastWorkOf(runs: readonly NewTaskRunRow[]): { lastWork?: { workerId: string; summary: string | null } } {
  const last = [...runs].reverse().find((run) => run.role !== 'review')
  return last ? { lastWork: { workerId: last.worker_id, summary: (last.summary as string | null | undefined) ?? null } } : {}
}

/** True when the task's newest claim took it from review (a reviewer's claim on the Python board). */
function lastClaimWasReview(events: readonly SourceRow[]): boolean {
  for (let index = events.length - 1; index >= 0; index--) {
    if (events[index]!['kind'] !== 'claimed') continue
    try {
      return (JSON.parse(String(events[index]!['payload'])) as Record<string, unknown>)['source_status'] === 'review'
    } catch {
      return false
    }
  }
  return false
}

/** The newest `blocked` / `gave_up` event's reason. */
function lastBlockReason(events: readonly SourceRow[]): string | null {
  for (let index = events.length - 1; index >= 0; index--) {
    const event = events[index]!
    if (event['kind'] !== 'blocked' && event['kind'] !== 'gave_up') continue
    try {
      const payload = JSON.parse(String(event['payload'])) as Record<string, unknown>
      const reason = payload['reason'] ?? payload['error']
      if (typeof reason === 'string' && reason !== '') return reason.slice(0, 10_000)
    } catch {
      // A payload that is not JSON says nothing about the reason.
    }
    return `${String(event['kind'])} on the Python board`
  }
  return null
}

async function insertAll<T extends 'tasks' | 'task_runs' | 'comments' | 'attachments' | 'events'>(trx: Kysely<BoardSchema>, table: T, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return
  const columns = Object.keys(rows[0]!).length
  const size = Math.max(1, Math.floor(PARAMETERS_PER_STATEMENT / columns))
  for (const chunk of chunks(rows, size)) await trx.insertInto(table).values(chunk as never).execute()
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size))
  return out
}

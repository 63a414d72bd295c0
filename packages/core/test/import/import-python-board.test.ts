import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { canTransition, importPythonBoard, KanbanDbError, transitions, type Board, type ImportProgress, type ImportReport, type TaskAction, type TaskStatus } from '@kanban-db/core'
import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { openTestBoard } from '../board/helpers.js'
import { tempDir } from '../temp-dir.js'
import { assertUnchanged, preflightSource } from '../../src/import/python-source.js'
import { fixtureRows, fixtureSkip, holdOpen, writePythonBoard } from './python-board-fixture.js'

const worker = { workerId: 'kanban-worker', leaseMs: 60_000 }

/** Every byte of the source and the names and sizes of everything beside it. */
function fingerprint(path: string): { bytes: Buffer; dir: string[]; header: { write: number; read: number } } {
  // Read only after every connection to the file (Python's included) is closed: not a live file.
  const bytes = readFileSync(path)
  const dir = readdirSync(join(path, '..'))
    .sort()
    .map((name) => `${name}:${statSync(join(path, '..', name)).size}`)
  return { bytes, dir, header: { write: bytes[18]!, read: bytes[19]! } }
}

/** Each task's events chain from null to its status, through moves the transition table allows. */
async function expectChains(board: Board): Promise<void> {
  const actions = Object.keys(transitions) as TaskAction[]
  for (const task of await board.listTasks({ limit: 10_000 })) {
    const events = await board.events({ taskId: task.id, limit: 10_000 })
    expect(events.length, task.id).toBeGreaterThan(0)
    events.forEach((event, index) => {
      expect(event.fromStatus, `${task.id} event ${index}`).toBe(index === 0 ? null : events[index - 1]!.toStatus)
      const keeps = event.fromStatus === event.toStatus
      const allowed = keeps || actions.some((action) => canTransition(action, event.fromStatus, event.toStatus as TaskStatus))
      expect(allowed, `${task.id}: ${event.kind} ${event.fromStatus} -> ${event.toStatus}`).toBe(true)
    })
    expect(events.at(-1)!.toStatus, task.id).toBe(task.status)
  }
}

describe.skipIf(fixtureSkip !== undefined)(`the source never changes${fixtureSkip ? ` (skipped: ${fixtureSkip})` : ''}`, () => {
  for (const mode of ['wal', 'delete', 'truncate'] as const) {
    it(`in ${mode} mode: every byte, the journal mode, and no sidecar created or changed`, async () => {
      const dir = tempDir()
      const source = join(dir, 'kanban.db')
      writePythonBoard(source, mode)
      const before = fingerprint(source)
      expect(before.header).toEqual(mode === 'wal' ? { write: 2, read: 2 } : { write: 1, read: 1 })
      // TRUNCATE leaves an empty -journal behind: the importer may neither remove nor fill it.
      expect(before.dir).toEqual([`kanban.db:${before.bytes.length}`, ...(mode === 'truncate' ? ['kanban.db-journal:0'] : [])])
      const { board } = await openTestBoard(await createBetterSqlite3())
      const report = await importPythonBoard({ source, into: board })
      expect(report.tables.tasks.imported).toBeGreaterThan(0)
      await importPythonBoard({ source, into: board })
      const after = fingerprint(source)
      expect(after.dir).toEqual(before.dir)
      expect(after.header).toEqual(before.header)
      expect(after.bytes.equals(before.bytes)).toBe(true)
    })
  }

  it('control: a plain read-only open through an adapter DOES create sidecars of a WAL board (why the importer opens it immutable)', async () => {
    const dir = tempDir()
    const source = join(dir, 'kanban.db')
    writePythonBoard(source, 'wal')
    const before = fingerprint(source)
    const adapter = await createBetterSqlite3()
    const connection = await adapter.open(source, { readonly: true })
    connection.prepare('SELECT count(*) FROM tasks').all([])
    connection.close()
    const after = fingerprint(source)
    if (after.dir.length === before.dir.length) throw new Error('control did not reproduce the hazard: a read-only open left the directory as it was')
    expect(after.dir).toContain('kanban.db-shm:32768')
  })

  it('refuses a board a process holds open (source-busy), writes nothing, and imports once it is closed', async () => {
    const dir = tempDir()
    const source = join(dir, 'kanban.db')
    writePythonBoard(source, 'wal')
    const { board } = await openTestBoard(await createBetterSqlite3())
    const holder = await holdOpen(source)
    try {
      const error = await importPythonBoard({ source, into: board }).catch((caught: unknown) => caught)
      expect(KanbanDbError.isKanbanDbError(error) && error.code).toBe('IMPORT_FAILED')
      expect((error as KanbanDbError).details['reason']).toBe('source-busy')
      expect((error as Error).message).toMatch(/Stop its dispatcher/)
      expect(await board.listTasks()).toEqual([])
    } finally {
      await holder.stop()
    }
    // The holder's last close checkpointed its write into the file: now the import reads it.
    const report = await importPythonBoard({ source, into: board })
    expect(report.tables.task_events.source).toBe(fixtureRows().task_events.length + 1)
  })

  it('a source written between the preflight and the end of reading is source-changed', async () => {
    const source = join(tempDir(), 'kanban.db')
    writePythonBoard(source, 'delete')
    const facts = preflightSource(source)
    expect(() => assertUnchanged(facts)).not.toThrow()
    const holder = await holdOpen(source) // writes one event, then closes on stop()
    await holder.stop()
    const error = (() => {
      try {
        assertUnchanged(facts)
      } catch (caught) {
        return caught
      }
    })()
    expect((error as KanbanDbError).details['reason']).toBe('source-changed')
  })

  it('a non-empty -wal without a holder (a crashed writer) is source-busy too', async () => {
    const dir = tempDir()
    const source = join(dir, 'kanban.db')
    writePythonBoard(source, 'wal')
    // A stand-in sidecar made with fs: the test's own file, never opened by SQLite.
    writeFileSync(`${source}-wal`, Buffer.alloc(4096, 1))
    const { board } = await openTestBoard(await createBetterSqlite3())
    const error = await importPythonBoard({ source, into: board }).catch((caught: unknown) => caught)
    expect((error as KanbanDbError).details['reason']).toBe('source-busy')
    expect(statSync(`${source}-wal`).size).toBe(4096)
  })

  it('names a file that is not a Python board (not-a-python-board), keeping the cause', async () => {
    const dir = tempDir()
    const { board, path: kanbanDbBoard } = await openTestBoard(await createBetterSqlite3())
    const other = await openTestBoard(await createBetterSqlite3())
    await other.board.close()
    const error = await importPythonBoard({ source: other.path, into: board }).catch((caught: unknown) => caught)
    expect((error as KanbanDbError).code).toBe('IMPORT_FAILED')
    expect((error as KanbanDbError).details['reason']).toBe('not-a-python-board')
    const junk = join(dir, 'junk.db')
    writeFileSync(junk, 'this is not a database at all, just some text that is long enough '.repeat(20))
    const junkError = await importPythonBoard({ source: junk, into: board }).catch((caught: unknown) => caught)
    expect((junkError as KanbanDbError).details['reason']).toBe('not-a-python-board')
    expect((junkError as Error).cause).toBeDefined()
    const same = await importPythonBoard({ source: kanbanDbBoard, into: board }).catch((caught: unknown) => caught)
    expect((same as KanbanDbError).details['reason']).toBe('same-file')
    const badOption = await importPythonBoard({ source: junk, into: board, failureLimit: 0 }).catch((caught: unknown) => caught)
    expect((badOption as KanbanDbError).code).toBe('INVALID_INPUT')
  })
})

for (const { name, create, skip: engineSkip } of boardSubjects) {
  const skip = engineSkip ?? fixtureSkip
  describe.skipIf(skip !== undefined)(`importing a Python board into ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    async function imported(options: { batchSize?: number; onProgress?: (progress: ImportProgress) => void } = {}): Promise<{ board: Board; report: ImportReport; source: string }> {
      const source = join(tempDir(), 'kanban.db')
      writePythonBoard(source, 'wal')
      const { board } = await openTestBoard(await create())
      const report = await importPythonBoard({ source, into: board, now: 1_700_000_000_000, ...options })
      return { board, report, source }
    }

    it('imports every table, maps each status, keeps the chain invariant, and reports what it dropped', async () => {
      const progress: ImportProgress[] = []
      const { board, report } = await imported({ batchSize: 3, onProgress: (step) => progress.push(step) })
      const rows = fixtureRows()
      expect(report.tables.tasks).toMatchObject({ source: rows.tasks.length, imported: rows.tasks.length - 1, dropped: 1, alreadyImported: 0 })
      expect(report.tables.task_runs).toMatchObject({ source: rows.task_runs.length, imported: rows.task_runs.length, dropped: 0 })
      expect(report.tables.task_comments).toMatchObject({ source: rows.task_comments.length, imported: 2, dropped: 2 })
      expect(report.tables.task_attachments).toMatchObject({ source: 1, imported: 1 })
      expect(report.tables.task_links).toMatchObject({ source: 5, imported: 3, dropped: 2 })
      expect(report.tables.kanban_notify_subs).toMatchObject({ source: 2, imported: 2, dropped: 0 })
      const events = report.tables.task_events
      expect(events.imported + events.folded! + events.dropped).toBe(rows.task_events.length)
      expect(events.folded).toBeGreaterThan(0) // 'assigned' has no kanban-db kind
      // Per status: every Python status, running released to ready.
      expect(report.statuses['running']).toEqual({ count: 2, to: { ready: 1, review: 1 } })
      for (const status of ['triage', 'todo', 'scheduled', 'ready', 'review', 'blocked', 'done', 'archived']) expect(report.statuses[status]!.to[status as TaskStatus], status).toBeGreaterThan(0)
      // Dropped, each with its reason: the malformed task and its comment, the orphan comment, the dangling and the cycle-closing link.
      const reasons = report.dropped.filter((item) => item.field === undefined).map((item) => `${item.table} ${item.source}: ${item.reason}`)
      expect(reasons).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^tasks bad id!: malformed row: the id/),
          expect.stringMatching(/^task_comments \d+: its task bad id! was not imported/),
          expect.stringMatching(/^task_comments \d+: its task t_gone0000 is not in the source/),
          expect.stringMatching(/^task_links t_00000todo<-t_gone0000: task t_gone0000 is not in the source/),
          expect.stringMatching(/^task_links t_cycle_b1<-t_cycle_a1: it would close a dependency cycle/),
        ]),
      )
      // Dropped fields keep their values: the running task's claim, subscription routing.
      expect(report.dropped).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ table: 'tasks', source: 't_running1', field: 'claim_lock', value: 'gw-host:5151' }),
          expect.objectContaining({ table: 'kanban_notify_subs', field: 'chat_type', value: 'dm' }),
        ]),
      )
      // Nothing of runs is dropped (schema v5 keeps summary and metadata), nor the archived task's key.
      expect(report.dropped.filter((item) => item.table === 'task_runs' || item.source === 't_archive1')).toEqual([])
      await expectChains(board)
      // Progress: monotonic rows done out of a fixed total, ending at the total.
      const total = Object.values(rows).reduce((sum, table) => sum + table.length, 0)
      expect(progress.length).toBeGreaterThan(3)
      expect(progress.every((step) => step.total === total)).toBe(true)
      expect(progress.map((step) => step.done)).toEqual([...progress.map((step) => step.done)].sort((a, b) => a - b))
      expect(progress.at(-1)).toEqual({ phase: 'done', done: total, total })
    })

    it('maps the fields: times in ms, limits per task, agent fields in meta, runs, comments in order, attachments', async () => {
      const { board } = await imported()
      const done = (await board.getTask('t_0000done'))!
      expect(done).toMatchObject({ status: 'done', result: 'shipped the parser', idempotencyKey: 'key-done', maxRetries: 1, maxAttempts: 1000, attempts: 1 })
      expect(done.createdAt % 1000).toBe(0)
      expect(done.meta).toMatchObject({
        imported: { from: 'hermes-kanban', id: 't_0000done', status: 'done' },
        hermes: { skills: ['python', 'git'], workspace_kind: 'worktree', branch_name: 'wt/t_0000done', model_override: 'big-model' },
      })
      // The Python board gives up AT max_retries failures; kanban-db AFTER maxRetries retries.
      expect((await board.getTask('t_000ready'))!).toMatchObject({ status: 'ready', maxRetries: 3, tenant: 'acme', priority: 5 })
      expect((await board.getTask('t_blocked1'))!).toMatchObject({ status: 'blocked', consecutiveFailures: 2, blockKind: 'transient', blockReason: 'gave up after 2 consecutive failures', lastError: 'timed out' })
      const running = (await board.getTask('t_running1'))!
      expect(running).toMatchObject({ status: 'ready', claimedBy: null, maxRuntimeMs: 3_600_000, attempts: 2 })
      const runs = await board.db.selectFrom('task_runs').selectAll().where('task_id', '=', 't_running1').orderBy('attempt').execute()
      expect(runs.map((run) => [run.attempt, run.outcome, run.worker_id, Number(run.pid)])).toEqual([
        [1, 'crashed', 'gw-host:4242', 4242],
        [2, 'released', 'gw-host:5151', 5151],
      ])
      // Each attempt keeps its summary and metadata (the Python-only columns in metadata.hermes), and its role.
      const doneRun = await board.db.selectFrom('task_runs').selectAll().where('task_id', '=', 't_0000done').executeTakeFirstOrThrow()
      expect(doneRun).toMatchObject({ role: 'work', summary: 'parser done', outcome: 'completed' })
      expect(JSON.parse(doneRun.metadata!)).toEqual({ files: 3, hermes: { profile: 'coder', step_key: 'build', status: 'done' } })
      const reviewRoles = await board.db.selectFrom('task_runs').select(['attempt', 'role', 'outcome']).where('task_id', '=', 't_reviewed').orderBy('attempt').execute()
      expect(reviewRoles.map((run) => `${run.role}:${run.outcome}`)).toEqual(['work:review-requested', 'review:rejected', 'work:review-requested', 'review:completed'])
      // An archived task's key is free, as kanban-db's archive leaves it; the live task keeps it.
      const archived = await board.db.selectFrom('tasks').select(['idempotency_key', 'archived_idempotency_key']).where('id', '=', 't_archive1').executeTakeFirstOrThrow()
      expect(archived).toEqual({ idempotency_key: null, archived_idempotency_key: 'key-done' })
      expect((await board.comments('t_0000done')).map((comment) => comment.body)).toEqual(['first, same second', 'second, same second'])
      expect(await board.attachments('t_0000done')).toEqual([expect.objectContaining({ name: 'report.pdf', uri: 'file:///srv/kanban/attachments/t_0000done/report.pdf', sizeBytes: 1234, mediaType: 'application/pdf' })])
      const kinds = (await board.events({ taskId: 't_0000done' })).map((event) => event.kind)
      expect(kinds).toEqual(['created', 'claimed', 'extended', 'commented', 'commented', 'attachment-added', 'completed'])
      expect((await board.getTask('t_00000todo'))!.status).toBe('todo')
      // Review on the Python board (a reviewer's claim runs the task) is review on kanban-db.
      const reviewed = await board.events({ taskId: 't_reviewed' })
      expect(reviewed.map((event) => `${event.kind}:${event.toStatus}`)).toEqual([
        'created:ready',
        'claimed:running',
        'review-requested:review',
        'review-claimed:review',
        'rejected:ready',
        'claimed:running',
        'review-requested:review',
        'review-claimed:review',
        'approved:done',
      ])
      // A move kanban-db makes in steps: the step before is synthesized, the last stands for the source event.
      const manual = await board.events({ taskId: 't_manual01' })
      expect(manual.map((event) => [event.kind, (event.payload as { imported: Record<string, unknown> }).imported['synthesized'] ?? (event.payload as { imported: Record<string, unknown> }).imported['sourceKind']])).toEqual([
        ['created', 'created'],
        ['claimed', true],
        ['completed', 'completed'],
      ])
      expect((await board.getTask('t_revrun01'))!).toMatchObject({ status: 'review', claimedBy: null, reviewRequestedBy: 'gw-host:4242' })
      expect((await board.getTask('t_review01'))!).toMatchObject({ status: 'review', reviewRequestedBy: 'gw-host:4242', reviewSummary: 'please review' })
      const revrun = await board.events({ taskId: 't_revrun01' })
      expect(revrun.at(-1)).toMatchObject({ kind: 'review-claimed', toStatus: 'review' })
    })

    it('a second import of the same source changes nothing and reports 0 new', async () => {
      const { board, report, source } = await imported({ batchSize: 4 })
      const before = {
        tasks: await board.db.selectFrom('tasks').selectAll().orderBy('id').execute(),
        events: await board.db.selectFrom('events').selectAll().orderBy('id').execute(),
        dependencies: await board.db.selectFrom('task_dependencies').selectAll().orderBy('task_id').orderBy('depends_on_id').execute(),
        subscriptions: await board.db.selectFrom('subscriptions').selectAll().orderBy('id').execute(),
      }
      const again = await importPythonBoard({ source, into: board, batchSize: 2 })
      expect(again.written).toBe(0)
      for (const [table, counts] of Object.entries(again.tables)) {
        expect(counts.imported, table).toBe(0)
        const first = report.tables[table as keyof typeof report.tables]
        expect(counts.alreadyImported, table).toBe(first.imported + (first.folded ?? 0))
      }
      expect(again.sourceId).toBe(report.sourceId)
      expect(again.taskIds).toEqual(report.taskIds)
      expect(again.subscriptions).toEqual(report.subscriptions)
      expect({
        tasks: await board.db.selectFrom('tasks').selectAll().orderBy('id').execute(),
        events: await board.db.selectFrom('events').selectAll().orderBy('id').execute(),
        dependencies: await board.db.selectFrom('task_dependencies').selectAll().orderBy('task_id').orderBy('depends_on_id').execute(),
        subscriptions: await board.db.selectFrom('subscriptions').selectAll().orderBy('id').execute(),
      }).toEqual(before)
    })

    it('round trip: a kanban-db worker claims an imported ready task and completing it releases its imported dependent', async () => {
      const { board } = await imported()
      const claim = (await board.claimNext(worker))!
      // The highest priority ready task of the source.
      expect(claim).toMatchObject({ id: 't_000ready', status: 'running', attempts: 1 })
      await board.complete(claim.id, claim.claimToken, { ok: true })
      expect((await board.getTask('t_000ready'))!.status).toBe('done')
      // The released Python task is claimable too (so is the scheduled one, due at the import), and its dependent waits for it.
      const claims = [(await board.claimNext(worker))!, (await board.claimNext(worker))!]
      expect(claims.map((task) => task.id).sort()).toEqual(['t_running1', 't_sched001'])
      expect((await board.getTask('t_00000todo'))!.status).toBe('todo')
      const next = claims.find((task) => task.id === 't_running1')!
      await board.complete(next.id, next.claimToken)
      expect((await board.getTask('t_00000todo'))!.status).toBe('ready')
      await expectChains(board)
    })

    it('subscriptions resume at their cursors: nothing the Python notifier delivered comes again', async () => {
      const { board, report } = await imported()
      const telegram = report.subscriptions['t_0000done/telegram/42/']!
      expect(telegram.subscriber).toBe('hermes:telegram:42:t_0000done')
      const doneEvents = await board.events({ taskId: 't_0000done' })
      expect(telegram.cursor).toBe(doneEvents.at(-1)!.id)
      const slack = report.subscriptions['t_blocked1/slack/C1/th1']!
      const blockedEvents = await board.events({ taskId: 't_blocked1' })
      expect(slack.cursor).toBe(blockedEvents[0]!.id - 1)
      // Scoped to its task, like the Python subscription: all of that task's history, nothing else.
      const batch = (await board.takeEvents(slack.subscriber, { leaseMs: 30_000, limit: 100 }))!
      expect(batch.events.map((event) => event.id)).toEqual(blockedEvents.map((event) => event.id))
      expect(await board.takeEvents(telegram.subscriber, { leaseMs: 30_000 })).toBeUndefined()
      const subscription = await board.db.selectFrom('subscriptions').select(['task_id', 'kinds']).where('id', '=', telegram.subscriber).executeTakeFirstOrThrow()
      expect(subscription).toEqual({ task_id: 't_0000done', kinds: null })
    })
  })
}

describe.skipIf(fixtureSkip !== undefined)(`imports into a board that is not empty, and in batches${fixtureSkip ? ` (skipped: ${fixtureSkip})` : ''}`, () => {
  it('never overwrites a task of the target: a taken id or idempotency key is reported, the rest imports', async () => {
    const source = join(tempDir(), 'kanban.db')
    writePythonBoard(source, 'delete')
    const { board } = await openTestBoard(await createBetterSqlite3())
    await board.createTask({ id: 't_000ready', title: 'a kanban-db task that happens to have this id' })
    await board.createTask({ title: 'holds the key', idempotencyKey: 'key-done' })
    const report = await importPythonBoard({ source, into: board })
    expect(report.dropped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ table: 'tasks', source: 't_000ready', reason: expect.stringMatching(/already has a task with this id/) }),
        expect.objectContaining({ table: 'task_links', source: 't_000ready<-t_0000done', reason: 'task t_000ready was not imported' }),
        expect.objectContaining({ table: 'tasks', source: 't_0000done', field: 'idempotency_key', value: 'key-done' }),
      ]),
    )
    expect((await board.getTask('t_000ready'))!.title).toBe('a kanban-db task that happens to have this id')
    expect((await board.getTask('t_0000done'))!).toMatchObject({ idempotencyKey: null, meta: expect.objectContaining({ hermes: expect.objectContaining({ idempotency_key: 'key-done' }) }) })
    await expectChains(board)
  })

  it('an import interrupted after its first batch resumes: the second run writes the rest, once', async () => {
    const source = join(tempDir(), 'kanban.db')
    writePythonBoard(source, 'wal', fixtureRows(250))
    const { board } = await openTestBoard(await createBetterSqlite3())
    const progress: ImportProgress[] = []
    const interrupted = await importPythonBoard({
      source,
      into: board,
      onProgress: (step) => {
        progress.push(step)
        throw new Error('the terminal closed')
      },
    }).catch((caught: unknown) => caught)
    expect((interrupted as Error).message).toBe('the terminal closed')
    expect(progress).toHaveLength(1)
    // The first batch: the source's 100 oldest tasks, one of them malformed.
    expect((await board.listTasks({ limit: 10_000 })).length).toBe(99)
    const resumed = await importPythonBoard({ source, into: board })
    expect(resumed.tables.tasks).toMatchObject({ alreadyImported: 99, imported: fixtureRows(250).tasks.length - 1 - 99, dropped: 1 })
    expect((await board.listTasks({ limit: 10_000 })).length).toBe(fixtureRows(250).tasks.length - 1)
    expect((await importPythonBoard({ source, into: board })).written).toBe(0)
    await expectChains(board)
  })
})

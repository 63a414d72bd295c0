import { strict as assert } from 'node:assert'
import { KanbanDbError, type Board, type BoardEvent, type ClaimOptions, type EventKind, type TaskStatus } from '@kanban-db/core'
import { ALL_ENGINES, type ConformanceCase } from '../case.js'

/** The board's clock in this case: fixed, moved by hand, so leases and due times are exact. */
const START = 1_800_000_000_000
const LEASE_MS = 10_000

/** One expected event: task, kind, from and to status. */
type Expected = readonly [taskId: string, kind: EventKind, from: TaskStatus | null, to: TaskStatus | null]

/**
 * One scripted pass through the board's semantics through the public `Board` API, the same on every
 * engine (a SQLite file through the adapter; a fresh Postgres schema): create with dependencies (a
 * cycle refused), claim, heartbeat (no event), complete releasing exactly the dependents whose
 * dependencies are all done, fail and retry, block/unblock, schedule (not claimable before its due
 * time), review request/reject/approve (the author never reviews), archive, comments, attachments;
 * refused calls change nothing; then the event log: exactly the expected events, one per change, in
 * order; then a subscription: take leases the batch (a second take gets nothing), a stale ack is
 * refused, ack moves the cursor, and the next take gets only what came after.
 */
export const boardLifecycle: ConformanceCase = {
  id: 'core.board-lifecycle',
  title: "one scripted pass through the board's semantics through the public Board API (dependencies, claims, failures, parking, schedule, review, archive, comments, attachments, events, subscriptions)",
  tier: 'core',
  engines: ALL_ENGINES,
  requires: [],
  timeoutMs: 60_000,
  async run(context) {
    let now = START
    const board = await context.openBoard({ clock: () => now })
    try {
      await lifecycle(board, {
        advance: (ms) => {
          now += ms
        },
        now: () => now,
      })
    } finally {
      await board.close()
    }
    context.note(`${context.engine}: every step held; ${EXPECTED_EVENT_COUNT} events, one per change, in order`)
  },
}

const EXPECTED_EVENT_COUNT = 28

async function lifecycle(board: Board, clock: { advance(ms: number): void; now(): number }): Promise<void> {
  const expected: Expected[] = []
  const worker: ClaimOptions = { workerId: 'worker-1', pid: 4242, host: 'host-a', leaseMs: LEASE_MS }
  const reviewer: ClaimOptions = { workerId: 'reviewer-1', pid: 4343, host: 'host-b', leaseMs: LEASE_MS, role: 'review' }
  const expectEvents = (...events: Expected[]) => expected.push(...events)
  /** `fn` is refused with `code`, and writes no event. */
  const refused = async (code: string, what: string, fn: () => Promise<unknown>) => {
    const before = await lastEventId(board)
    await assert.rejects(fn, (error: unknown) => KanbanDbError.isKanbanDbError(error) && error.code === code, `${what}: expected ${code}`)
    assert.equal(await lastEventId(board), before, `${what}: a refused call wrote an event`)
  }

  assert.equal(await board.subscribe('notifier'), 0, 'a new subscription from the start has cursor 0')

  // Create with dependencies: plan <- build <- ship (ship also waits for plan, added afterwards).
  const created = await board.createTasks([
    { id: 'lc-plan', title: 'plan', priority: 3 },
    { id: 'lc-build', title: 'build', priority: 2, dependsOn: ['lc-plan'] },
    { id: 'lc-ship', title: 'ship', priority: 1, dependsOn: ['lc-build'] },
  ])
  assert.deepEqual(created.map((task) => task.status), ['ready', 'todo', 'todo'])
  assert.equal(created[0]!.createdAt, START, 'the board clock sets createdAt')
  expectEvents(['lc-plan', 'created', null, 'ready'], ['lc-build', 'created', null, 'todo'], ['lc-ship', 'created', null, 'todo'])
  assert.equal((await board.addDependency('lc-ship', 'lc-plan')).status, 'todo')
  expectEvents(['lc-ship', 'dependency_added', 'todo', 'todo'])
  await refused('DEPENDENCY_CYCLE', 'plan waiting for ship', () => board.addDependency('lc-plan', 'lc-ship'))
  await refused('TASK_NOT_FOUND', 'a dependency on a missing task', () => board.addDependency('lc-ship', 'lc-nope'))

  // Claim and heartbeat.
  const plan = await board.claimNext(worker)
  assert.equal(plan?.id, 'lc-plan', 'the only ready task is claimed')
  assert.equal(plan.status, 'running')
  assert.equal(plan.claimedBy, 'worker-1')
  assert.equal(plan.attempts, 1)
  assert.equal(plan.claimExpiresAt, START + LEASE_MS)
  expectEvents(['lc-plan', 'claimed', 'ready', 'running'])
  assert.equal(await board.claimNext({ ...worker, workerId: 'worker-2' }), undefined, 'nothing else is ready (todo tasks wait for their dependencies)')
  clock.advance(1_000)
  const beat = await board.heartbeat('lc-plan', plan.claimToken)
  assert.equal(beat.heartbeatAt, clock.now())
  assert.equal(beat.claimExpiresAt, clock.now() + LEASE_MS, 'a heartbeat extends the lease from now')
  await refused('CLAIM_MISMATCH', 'a heartbeat with a foreign token', () => board.heartbeat('lc-plan', 'not-the-token'))

  // Complete releases the dependents whose dependencies are all done, in the same transaction.
  await refused('CLAIM_MISMATCH', 'complete with a foreign token', () => board.complete('lc-plan', 'not-the-token'))
  const planDone = await board.complete('lc-plan', plan.claimToken, { files: ['plan.md'] })
  assert.equal(planDone.status, 'done')
  assert.deepEqual(planDone.result, { files: ['plan.md'] })
  assert.equal(planDone.claimedBy, null)
  expectEvents(['lc-plan', 'completed', 'running', 'done'], ['lc-build', 'promoted', 'todo', 'ready'])
  assert.equal((await board.getTask('lc-build'))?.status, 'ready', 'build waited only for plan')
  assert.equal((await board.getTask('lc-ship'))?.status, 'todo', 'ship still waits for build')
  await refused('CLAIM_MISMATCH', 'a second complete', () => board.complete('lc-plan', plan.claimToken))

  // Fail and retry: back to ready with the error, then a second attempt completes.
  const build1 = await board.claimNext(worker)
  assert.equal(build1?.id, 'lc-build')
  expectEvents(['lc-build', 'claimed', 'ready', 'running'])
  const retried = await board.fail('lc-build', build1.claimToken, new Error('flaky test'))
  assert.equal(retried.status, 'ready')
  assert.equal(retried.lastError, 'flaky test')
  assert.equal(retried.consecutiveFailures, 1)
  expectEvents(['lc-build', 'retried', 'running', 'ready'])
  await refused('CLAIM_MISMATCH', 'complete with the failed attempt\'s token', () => board.complete('lc-build', build1.claimToken))
  const build2 = await board.claimNext(worker)
  assert.equal(build2?.id, 'lc-build')
  assert.equal(build2.attempts, 2)
  expectEvents(['lc-build', 'claimed', 'ready', 'running'])
  const buildDone = await board.complete('lc-build', build2.claimToken)
  assert.equal(buildDone.consecutiveFailures, 0, 'a success resets the consecutive failures')
  expectEvents(['lc-build', 'completed', 'running', 'done'], ['lc-ship', 'promoted', 'todo', 'ready'])

  // Block and unblock.
  const blocked = await board.block('lc-ship', 'waiting for credentials')
  assert.equal(blocked.status, 'blocked')
  assert.equal(blocked.blockReason, 'waiting for credentials')
  expectEvents(['lc-ship', 'blocked', 'ready', 'blocked'])
  assert.equal(await board.claimNext(worker), undefined, 'a blocked task is not claimed')
  await refused('INVALID_TRANSITION', 'blocking a blocked task', () => board.block('lc-ship', 'again'))
  const unblocked = await board.unblock('lc-ship')
  assert.equal(unblocked.status, 'ready')
  assert.equal(unblocked.blockReason, null)
  expectEvents(['lc-ship', 'unblocked', 'blocked', 'ready'])

  // Schedule: not claimable before its due time, claimed from then on.
  const dueAt = clock.now() + 5_000
  const scheduled = await board.schedule('lc-ship', dueAt)
  assert.equal(scheduled.status, 'scheduled')
  assert.equal(scheduled.dueAt, dueAt)
  expectEvents(['lc-ship', 'scheduled', 'ready', 'scheduled'])
  clock.advance(4_999)
  assert.equal(await board.claimNext(worker), undefined, 'a scheduled task is claimed before its due time')
  clock.advance(1)
  const ship1 = await board.claimNext(worker)
  assert.equal(ship1?.id, 'lc-ship', 'a task that came due is claimed')
  expectEvents(['lc-ship', 'due', 'scheduled', 'ready'], ['lc-ship', 'claimed', 'ready', 'running'])

  // Review: request, a reviewer (never the author) rejects, a second attempt is approved.
  const inReview = await board.requestReview('lc-ship', ship1.claimToken, { summary: 'shipped to staging', result: { pr: 7 } })
  assert.equal(inReview.status, 'review')
  assert.equal(inReview.reviewRequestedBy, 'worker-1')
  expectEvents(['lc-ship', 'review-requested', 'running', 'review'])
  assert.equal(await board.claimNext(worker), undefined, 'a task in review is not claimed as work')
  assert.equal(await board.claimNext({ ...reviewer, workerId: 'worker-1' }), undefined, 'the author reviews its own work')
  const review1 = await board.claimNext(reviewer)
  assert.equal(review1?.id, 'lc-ship')
  expectEvents(['lc-ship', 'review-claimed', 'review', 'review'])
  await refused('CLAIM_MISMATCH', 'a review claim completing the work', () => board.complete('lc-ship', review1.claimToken))
  const rejected = await board.reject('lc-ship', review1.claimToken, 'needs tests')
  assert.equal(rejected.status, 'ready')
  assert.equal(rejected.reviewRejections, 1)
  expectEvents(['lc-ship', 'rejected', 'review', 'ready'])
  const ship2 = await board.claimNext(worker)
  assert.equal(ship2?.id, 'lc-ship')
  expectEvents(['lc-ship', 'claimed', 'ready', 'running'])
  await board.requestReview('lc-ship', ship2.claimToken, { summary: 'tests added', result: { pr: 8 } })
  expectEvents(['lc-ship', 'review-requested', 'running', 'review'])
  const review2 = await board.claimNext(reviewer)
  assert.equal(review2?.id, 'lc-ship')
  expectEvents(['lc-ship', 'review-claimed', 'review', 'review'])
  const approved = await board.approve('lc-ship', review2.claimToken, { comment: 'lgtm' })
  assert.equal(approved.status, 'done')
  assert.deepEqual(approved.result, { pr: 8 })
  expectEvents(['lc-ship', 'approved', 'review', 'done'])

  // Archive.
  const extra = await board.createTask({ id: 'lc-extra', title: 'extra' })
  assert.equal(extra.status, 'ready')
  expectEvents(['lc-extra', 'created', null, 'ready'])
  assert.equal((await board.archive('lc-extra')).status, 'archived')
  expectEvents(['lc-extra', 'archived', 'ready', 'archived'])
  await refused('INVALID_TRANSITION', 'archiving an archived task', () => board.archive('lc-extra'))
  assert.equal(await board.claimNext(worker), undefined, 'an archived task is not claimed')

  // Comments and attachments.
  const comment = await board.addComment('lc-plan', { body: 'see the design doc', author: 'pm' })
  assert.deepEqual(await board.comments('lc-plan'), [comment])
  assert.equal(comment.author, 'pm')
  expectEvents(['lc-plan', 'commented', 'done', 'done'])
  const sha256 = 'a'.repeat(64)
  const attachment = await board.addAttachment('lc-ship', { name: 'report.html', uri: 'file:///tmp/report.html', mediaType: 'text/html', sizeBytes: 1234, sha256 })
  assert.deepEqual(await board.attachments('lc-ship'), [attachment])
  assert.equal(attachment.sizeBytes, 1234)
  expectEvents(['lc-ship', 'attachment-added', 'done', 'done'])
  await refused('TASK_NOT_FOUND', 'a comment on a missing task', () => board.addComment('lc-nope', { body: 'x' }))

  // The event log: exactly one event per change, in order.
  assert.equal(expected.length, EXPECTED_EVENT_COUNT)
  const events = await board.events({ limit: 1_000 })
  assert.deepEqual(events.map(shape), expected, 'the event log is not one event per change, in order')
  assert.ok(events.every((event, index) => index === 0 || event.id > events[index - 1]!.id), 'event ids are not increasing')
  assert.equal(events.find((event) => event.kind === 'claimed')?.runId, plan.runId, 'the claimed event names the run of the claim')
  assert.deepEqual((await board.events({ taskId: 'lc-extra' })).map(shape), expected.filter(([taskId]) => taskId === 'lc-extra'))
  const tail = await board.events({ afterId: events[9]!.id, limit: 3 })
  assert.deepEqual(tail.map((event) => event.id), events.slice(10, 13).map((event) => event.id), 'paging by afterId')

  // The subscription: take leases a batch, a second take gets nothing while leased, ack moves the cursor.
  const batch = await board.takeEvents('notifier', { leaseMs: 60_000, limit: 1_000 })
  assert.ok(batch !== undefined, 'the subscription got no batch')
  assert.deepEqual(batch.events.map((event) => event.id), events.map((event) => event.id), 'the batch is not every event after the cursor')
  assert.equal(batch.untilEventId, events.at(-1)!.id)
  assert.equal(await board.takeEvents('notifier', { leaseMs: 60_000 }), undefined, 'a second notifier got a leased batch')
  await refused('CLAIM_MISMATCH', 'an ack with a foreign lease', () => board.ackEvents('notifier', 'not-the-lease'))
  assert.equal(await board.ackEvents('notifier', batch.leaseToken), events.at(-1)!.id)
  assert.equal(await board.takeEvents('notifier', { leaseMs: 60_000 }), undefined, 'events after an ack without anything new')
  await board.addComment('lc-ship', { body: 'released' })
  const next = await board.takeEvents('notifier', { leaseMs: 60_000 })
  assert.deepEqual(next?.events.map(shape), [['lc-ship', 'commented', 'done', 'done']], 'the next batch is not exactly the new event')
  assert.equal(await board.ackEvents('notifier', next!.leaseToken), next!.untilEventId)
  assert.equal(await board.subscribe('notifier'), next!.untilEventId, 'subscribing again returns the stored cursor')

  // What the board holds at the end.
  const health = await board.health()
  assert.equal(health.tasks.done, 3)
  assert.equal(health.tasks.archived, 1)
  assert.equal(health.tasks.running, 0)
}

function shape(event: BoardEvent): Expected {
  return [event.taskId, event.kind, event.fromStatus, event.toStatus]
}

async function lastEventId(board: Board): Promise<number> {
  const row = await board.db.selectFrom('events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst()
  return Number(row?.id ?? 0)
}

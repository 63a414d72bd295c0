import { describe, expect, it } from 'vitest'
import { hostname } from 'node:os'
import { TASK_STATUSES, transitions } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`board lifecycle on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('creates ready tasks with defaults, ids that sort by time, and one created event', async () => {
      const { board, clock } = await openTestBoard(await create())
      const first = await board.createTask({ title: 'first' })
      clock.advance(5)
      const second = await board.createTask({ title: 'second', body: 'b', priority: 3, assignee: 'coder', createdBy: 'me', meta: { branch: 'x', n: [1, 2] }, maxAttempts: 5 })
      expect(first).toMatchObject({ title: 'first', body: '', status: 'ready', priority: 0, assignee: null, meta: {}, attempts: 0, maxAttempts: 3, result: null })
      expect(second).toMatchObject({ body: 'b', priority: 3, assignee: 'coder', createdBy: 'me', meta: { branch: 'x', n: [1, 2] }, maxAttempts: 5, createdAt: clock.now })
      expect(first.id < second.id).toBe(true)
      expect(first.id).toMatch(/^t_[0-9A-Z]{26}$/)
      expect(await board.getTask(first.id)).toEqual(first)
      expect(await board.getTask('t_missing')).toBeUndefined()
      const events = await board.events()
      expect(events.map((event) => [event.kind, event.taskId, event.fromStatus, event.toStatus])).toEqual([
        ['created', first.id, null, 'ready'],
        ['created', second.id, null, 'ready'],
      ])
      expect((await board.health()).schemaVersion).toBe(LATEST_SCHEMA_VERSION)
    })

    it('returns the existing task for a repeated idempotency key and writes nothing', async () => {
      const { board } = await openTestBoard(await create())
      const first = await board.createTask({ title: 'once', idempotencyKey: 'k1' })
      const again = await board.createTask({ title: 'twice', idempotencyKey: 'k1' })
      expect(again).toEqual(first)
      expect(await board.events()).toHaveLength(1)
    })

    it('creates a batch in one transaction, all or nothing, with dependencies inside the batch', async () => {
      const { board } = await openTestBoard(await create())
      const [a, b] = await board.createTasks([
        { id: 'plan', title: 'plan' },
        { id: 'build', title: 'build', dependsOn: ['plan'] },
      ])
      expect(a!.status).toBe('ready')
      expect(b!.status).toBe('todo')
      await expectRefused(board, 'TASK_NOT_FOUND', () =>
        board.createTasks([{ title: 'fine' }, { title: 'bad', dependsOn: ['nope'] }]),
      )
      await expectRefused(board, 'INVALID_INPUT', () => board.createTasks([{ id: 'plan', title: 'clash' }]))
      expect(await board.createTasks([])).toEqual([])
    })

    it('claims the highest priority, then the oldest, then the smallest id; undefined when nothing is ready', async () => {
      const { board, clock } = await openTestBoard(await create())
      const low = await board.createTask({ title: 'low', priority: 1 })
      clock.advance(1)
      const highOld = await board.createTask({ title: 'high old', priority: 9 })
      clock.advance(1)
      const highNew = await board.createTask({ title: 'high new', priority: 9 })
      const order = []
      for (let i = 0; i < 3; i++) order.push((await board.claimNext(worker))!.id)
      expect(order).toEqual([highOld.id, highNew.id, low.id])
      expect(await board.claimNext(worker)).toBeUndefined()
    })

    it('records the claim: token, worker, pid, host, expiry, attempt and an open run', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const claimed = (await board.claimNext({ ...worker, leaseMs: 1000 }))!
      expect(claimed).toMatchObject({
        id: task.id, status: 'running', claimedBy: 'worker-1', workerPid: process.pid, workerHost: 'host-a',
        claimedAt: clock.now, claimExpiresAt: clock.now + 1000, attempts: 1, currentRunId: claimed.runId,
      })
      expect(claimed.claimToken).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect((await board.getTask(task.id)) as object).not.toHaveProperty('claimToken')
      const runs = await board.db.selectFrom('task_runs').selectAll().execute()
      expect(runs).toEqual([expect.objectContaining({ id: claimed.runId, task_id: task.id, attempt: 1, worker_id: 'worker-1', pid: process.pid, host: 'host-a', ended_at: null, outcome: null })])
      const claimedEvent = (await board.events()).at(-1)!
      expect(claimedEvent).toMatchObject({ kind: 'claimed', runId: claimed.runId, fromStatus: 'ready', toStatus: 'running' })
    })

    it('defaults the claim pid and host to this process and host', async () => {
      const { board } = await openTestBoard(await create())
      await board.createTask({ title: 't' })
      const claimed = (await board.claimNext({ workerId: 'w', leaseMs: 1000 }))!
      expect(claimed).toMatchObject({ workerPid: process.pid, workerHost: hostname() })
    })

    it('claims by assignee: exact profile, unassigned only, or any', async () => {
      const { board } = await openTestBoard(await create())
      const coder = await board.createTask({ title: 'c', assignee: 'coder', priority: 2 })
      const anyone = await board.createTask({ title: 'a', priority: 1 })
      expect(await board.claimNext({ ...worker, assignee: 'reviewer' })).toBeUndefined()
      expect((await board.claimNext({ ...worker, assignee: null }))!.id).toBe(anyone.id)
      expect((await board.claimNext({ ...worker, assignee: 'coder' }))!.id).toBe(coder.id)
    })

    it('heartbeats extend the lease; stale and foreign tokens are refused and change nothing', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't', maxAttempts: 5 })
      const first = (await board.claimNext({ ...worker, leaseMs: 1000 }))!
      clock.advance(500)
      const beat = await board.heartbeat(task.id, first.claimToken)
      expect(beat.claimExpiresAt).toBe(clock.now + 1000)
      expect(beat.heartbeatAt).toBe(clock.now)
      const longer = await board.heartbeat(task.id, first.claimToken, { leaseMs: 5000 })
      expect(longer.claimExpiresAt).toBe(clock.now + 5000)
      const foreign = await expectRefused(board, 'CLAIM_MISMATCH', () => board.heartbeat(task.id, 'not-the-token'))
      expect(foreign.message).toContain('not a claim token')
      // The claim expires and a second worker claims: the first worker's token is now stale.
      clock.advance(10_000)
      await board.releaseStaleClaims()
      const second = (await board.claimNext(worker))!
      for (const call of [
        () => board.heartbeat(task.id, first.claimToken),
        () => board.complete(task.id, first.claimToken, 'late'),
        () => board.fail(task.id, first.claimToken, 'late'),
        () => board.block(task.id, 'late', { claimToken: first.claimToken }),
      ]) {
        const stale = await expectRefused(board, 'CLAIM_MISMATCH', call)
        expect(stale.message).toContain('stale')
      }
      await board.complete(task.id, second.claimToken, 'on time')
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.complete(task.id, second.claimToken, 'twice'))
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.complete('t_nope', second.claimToken))
    })

    it('completes with a JSON result, closes the run and writes one completed event', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const claimed = (await board.claimNext(worker))!
      const done = await board.complete(task.id, claimed.claimToken, { files: ['a.ts'], ok: true })
      expect(done).toMatchObject({ status: 'done', result: { files: ['a.ts'], ok: true }, claimedBy: null, claimExpiresAt: null })
      const run = await board.db.selectFrom('task_runs').selectAll().executeTakeFirstOrThrow()
      expect(run).toMatchObject({ outcome: 'completed' })
      expect((await board.events()).map((event) => event.kind)).toEqual(['created', 'claimed', 'completed'])
    })

    it('fails back to ready while attempts remain, then to failed; retry:false fails at once', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't', maxAttempts: 2 })
      const one = (await board.claimNext(worker))!
      expect(await board.fail(task.id, one.claimToken, new Error('first'))).toMatchObject({ status: 'ready', lastError: 'first', attempts: 1 })
      const two = (await board.claimNext(worker))!
      expect(two.attempts).toBe(2)
      expect(await board.fail(task.id, two.claimToken, 'second')).toMatchObject({ status: 'failed', lastError: 'second' })
      const other = await board.createTask({ title: 'o', maxAttempts: 9 })
      const three = (await board.claimNext(worker))!
      expect(await board.fail(other.id, three.claimToken, 'fatal', { retry: false })).toMatchObject({ status: 'failed' })
      const kinds = (await board.events()).filter((event) => ['retried', 'failed'].includes(event.kind)).map((event) => event.kind)
      expect(kinds).toEqual(['retried', 'failed', 'failed'])
      const outcomes = await board.db.selectFrom('task_runs').select(['outcome', 'error']).orderBy('started_at').orderBy('attempt').execute()
      expect(outcomes.every((run) => run.outcome === 'failed')).toBe(true)
    })

    it('blocks and unblocks from todo, ready and running; refuses the rest', async () => {
      const { board } = await openTestBoard(await create())
      const dependency = await board.createTask({ title: 'dep' })
      const todo = await board.createTask({ title: 'todo', dependsOn: [dependency.id] })
      expect(await board.block(todo.id, 'waiting for a human')).toMatchObject({ status: 'blocked', blockReason: 'waiting for a human' })
      expect(await board.unblock(todo.id)).toMatchObject({ status: 'todo', blockReason: null })
      const ready = await board.createTask({ title: 'ready', priority: 10 })
      await board.block(ready.id, 'later')
      await expectRefused(board, 'INVALID_TRANSITION', () => board.block(ready.id, 'again'))
      expect(await board.unblock(ready.id)).toMatchObject({ status: 'ready' })
      await expectRefused(board, 'INVALID_TRANSITION', () => board.unblock(ready.id))
      const claimed = (await board.claimNext(worker))!
      expect(claimed.id).toBe(ready.id)
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.block(ready.id, 'x', { claimToken: 'wrong' }))
      const blocked = await board.block(ready.id, 'needs review', { claimToken: claimed.claimToken })
      expect(blocked).toMatchObject({ status: 'blocked', claimedBy: null })
      expect((await board.db.selectFrom('task_runs').select('outcome').where('id', '=', claimed.runId).executeTakeFirstOrThrow()).outcome).toBe('blocked')
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.complete(ready.id, claimed.claimToken))
    })

    it('archives from every status but archived, ending a running claim', async () => {
      const { board } = await openTestBoard(await create())
      const dependency = await board.createTask({ title: 'dep', priority: 5 })
      const todo = await board.createTask({ title: 'todo', dependsOn: [dependency.id] })
      const running = (await board.claimNext(worker))!
      const blocked = await board.createTask({ title: 'blocked' })
      await board.block(blocked.id, 'x')
      const failed = await board.createTask({ title: 'failed', maxAttempts: 1, priority: 4 })
      const failing = (await board.claimNext(worker))!
      expect(failing.id).toBe(failed.id)
      await board.fail(failed.id, failing.claimToken, 'boom')
      const done = await board.createTask({ title: 'done', priority: 3 })
      const doing = (await board.claimNext(worker))!
      await board.complete(done.id, doing.claimToken)
      const ready = await board.createTask({ title: 'ready' })
      for (const id of [todo.id, running.id, blocked.id, failed.id, done.id, ready.id]) {
        expect(await board.archive(id)).toMatchObject({ status: 'archived', claimedBy: null })
      }
      expect((await board.db.selectFrom('task_runs').select('outcome').where('id', '=', running.runId).executeTakeFirstOrThrow()).outcome).toBe('archived')
      await expectRefused(board, 'INVALID_TRANSITION', () => board.archive(ready.id))
      await expectRefused(board, 'INVALID_TRANSITION', () => board.unblock(ready.id))
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.archive('t_nope'))
    })

    it('lists by status and assignee, oldest first, with limit and offset', async () => {
      const { board, clock } = await openTestBoard(await create())
      const ids = []
      for (let i = 0; i < 5; i++) {
        clock.advance(1)
        ids.push((await board.createTask({ title: `t${i}`, assignee: i % 2 === 0 ? 'even' : 'odd' })).id)
      }
      await board.block(ids[1]!, 'x')
      expect((await board.listTasks()).map((task) => task.id)).toEqual(ids)
      expect((await board.listTasks({ status: 'blocked' })).map((task) => task.id)).toEqual([ids[1]])
      expect((await board.listTasks({ status: ['ready', 'blocked'], assignee: 'odd' })).map((task) => task.id)).toEqual([ids[1], ids[3]])
      expect((await board.listTasks({ limit: 2, offset: 1 })).map((task) => task.id)).toEqual([ids[1], ids[2]])
      expect(await board.listTasks({ status: [] })).toEqual([])
    })

    it('pages the event log by afterId and filters by task', async () => {
      const { board } = await openTestBoard(await create())
      const a = await board.createTask({ title: 'a' })
      const b = await board.createTask({ title: 'b' })
      await board.block(a.id, 'x')
      const page1 = await board.events({ limit: 2 })
      const page2 = await board.events({ afterId: page1.at(-1)!.id })
      expect([...page1, ...page2].map((event) => event.kind)).toEqual(['created', 'created', 'blocked'])
      expect(page2[0]).toMatchObject({ taskId: a.id, payload: { reason: 'x' } })
      expect((await board.events({ taskId: b.id })).map((event) => event.kind)).toEqual(['created'])
    })

    it('keeps comments on a task in order, with one commented event each', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const first = await board.addComment(task.id, { body: 'looks good', author: 'reviewer' })
      clock.advance(1)
      await board.archive(task.id)
      const second = await board.addComment(task.id, { body: 'archived anyway' })
      expect(await board.comments(task.id)).toEqual([first, second])
      expect(second).toMatchObject({ taskId: task.id, author: null, body: 'archived anyway', createdAt: clock.now })
      expect((await board.events({ taskId: task.id })).map((event) => [event.kind, event.fromStatus, event.toStatus])).toEqual([
        ['created', null, 'ready'],
        ['commented', 'ready', 'ready'],
        ['archived', 'ready', 'archived'],
        ['commented', 'archived', 'archived'],
      ])
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.addComment('t_nope', { body: 'x' }))
      await expectRefused(board, 'INVALID_INPUT', () => board.addComment(task.id, { body: '' }))
    })

    it('writes exactly one event per status change of each task', async () => {
      const { board } = await openTestBoard(await create())
      const a = await board.createTask({ title: 'a', maxAttempts: 3 })
      const b = await board.createTask({ title: 'b', dependsOn: [a.id] })
      let claim = (await board.claimNext(worker))!
      await board.fail(a.id, claim.claimToken, 'x')
      claim = (await board.claimNext(worker))!
      await board.complete(a.id, claim.claimToken)
      await board.block(b.id, 'x')
      await board.unblock(b.id)
      await board.addComment(b.id, { body: 'note' })
      await board.archive(b.id)
      for (const task of await board.listTasks()) {
        const events = await board.events({ taskId: task.id })
        // The events chain: each starts where the previous ended, and the last ends at the status.
        events.forEach((event, index) => expect(event.fromStatus).toBe(index === 0 ? null : events[index - 1]!.toStatus))
        expect(events.at(-1)!.toStatus).toBe(task.status)
      }
    })
  })
}

describe('the transition table', () => {
  it('names only known statuses, and every status but archived can be archived', () => {
    for (const transition of Object.values(transitions)) {
      for (const status of [...transition.from, ...transition.to]) expect(TASK_STATUSES).toContain(status)
    }
    expect([...transitions.archive.from].sort()).toEqual(TASK_STATUSES.filter((status) => status !== 'archived').sort())
  })
})

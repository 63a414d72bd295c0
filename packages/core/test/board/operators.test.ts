import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

// Operators' recovery (issue 21): reassign, reclaim, removeDependency, deleteTask, pruneEvents. Each
// is one transaction writing one event per task it changes; a refusal changes nothing.

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`operators' recovery on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('reassign gives a task to another assignee and starts its failure count again; refused while it runs', async () => {
      const { board } = await openTestBoard(await create(), { maxRetries: 5 })
      const task = await board.createTask({ title: 'flaky', assignee: 'coder', maxAttempts: 10 })
      for (let i = 0; i < 2; i++) {
        const claim = (await board.claimNext({ ...worker, assignee: 'coder' }))!
        await board.fail(task.id, claim.claimToken, `error ${i}`)
      }
      expect((await board.getTask(task.id))!.consecutiveFailures).toBe(2)
      const moved = await board.reassign(task.id, 'senior', { reason: 'coder keeps failing' })
      expect(moved).toMatchObject({ status: 'ready', assignee: 'senior', consecutiveFailures: 0, attempts: 2 })
      const [event] = (await board.events({ taskId: task.id })).filter((e) => e.kind === 'reassigned')
      expect(event).toMatchObject({ fromStatus: 'ready', toStatus: 'ready', payload: { fromAssignee: 'coder', toAssignee: 'senior', reason: 'coder keeps failing', consecutiveFailures: 2 } })
      expect(await board.claimNext({ ...worker, assignee: 'coder' })).toBeUndefined()
      const claim = (await board.claimNext({ ...worker, assignee: 'senior' }))!
      const refused = await expectRefused(board, 'INVALID_TRANSITION', () => board.reassign(task.id, null))
      expect(refused.message).toContain('reclaim')
      await board.complete(task.id, claim.claimToken)
      await expectRefused(board, 'INVALID_TRANSITION', () => board.reassign(task.id, null))
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.reassign('nope', null))
      await expectRefused(board, 'INVALID_INPUT', () => board.reassign(task.id, ''))
    })

    it('reclaim takes a live claim back with a reason: ready again, counting nothing, and the old token is refused from then on', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'stuck', maxAttempts: 1 })
      const claim = (await board.claimNext(worker))!
      clock.advance(10)
      await board.heartbeat(task.id, claim.claimToken)
      const reclaimed = await board.reclaim(task.id, 'worker is wedged', { retryAfterMs: 1_000 })
      expect(reclaimed).toMatchObject({ status: 'ready', attempts: 0, consecutiveFailures: 0, claimedBy: null, notBefore: clock.now + 1_000 })
      const run = (await board.runs(task.id))[0]!
      expect(run).toMatchObject({ outcome: 'reclaimed', error: 'worker is wedged', endedAt: clock.now })
      const event = (await board.events({ taskId: task.id })).at(-1)!
      expect(event).toMatchObject({ kind: 'reclaimed', fromStatus: 'running', toStatus: 'ready', runId: claim.runId })
      expect(event.payload).toMatchObject({ reason: 'worker is wedged', workerId: worker.workerId, heartbeatAt: clock.now - 0, claimExpiresAt: clock.now + worker.leaseMs })
      for (const call of [
        () => board.complete(task.id, claim.claimToken),
        () => board.heartbeat(task.id, claim.claimToken),
        () => board.fail(task.id, claim.claimToken, 'late'),
      ]) {
        const refused = await expectRefused(board, 'CLAIM_MISMATCH', call)
        expect(refused.message).toContain('reclaimed')
      }
      // Nothing to reclaim now.
      await expectRefused(board, 'INVALID_TRANSITION', () => board.reclaim(task.id, 'again'))
      clock.advance(1_000)
      expect((await board.claimNext(worker))!.id).toBe(task.id)
      await expectRefused(board, 'INVALID_INPUT', () => board.reclaim(task.id, ''))
    })

    it("reclaim ends a reviewer's claim: the task waits in review for another reviewer", async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'reviewed' })
      const work = (await board.claimNext(worker))!
      await board.requestReview(task.id, work.claimToken, { summary: 'done' })
      await expectRefused(board, 'INVALID_TRANSITION', () => board.reclaim(task.id, 'no reviewer yet'))
      const review = (await board.claimNext({ ...worker, workerId: 'reviewer-1', role: 'review' }))!
      expect(await board.reclaim(task.id, 'reviewer went home')).toMatchObject({ status: 'review', claimedBy: null })
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.approve(task.id, review.claimToken))
      const again = (await board.claimNext({ ...worker, workerId: 'reviewer-2', role: 'review' }))!
      expect((await board.approve(task.id, again.claimToken)).status).toBe('done')
    })

    it('removeDependency recomputes readiness in the same transaction, with one event; a missing edge changes nothing', async () => {
      const { board } = await openTestBoard(await create())
      const [a, b, c] = await board.createTasks([{ id: 'a', title: 'a' }, { id: 'b', title: 'b' }, { id: 'c', title: 'c', dependsOn: ['a', 'b'] }])
      expect(c!.status).toBe('todo')
      const still = await board.removeDependency(c!.id, a!.id)
      expect(still.status).toBe('todo')
      const ready = await board.removeDependency(c!.id, b!.id)
      expect(ready.status).toBe('ready')
      const kinds = (await board.events({ taskId: c!.id })).map((event) => [event.kind, event.fromStatus, event.toStatus])
      expect(kinds).toEqual([['created', null, 'todo'], ['dependency_removed', 'todo', 'todo'], ['dependency_removed', 'todo', 'ready']])
      expect(await board.db.selectFrom('task_dependencies').selectAll().execute()).toEqual([])
      // No such edge: no write at all.
      await expectRefused(board, '*', async () => {
        const same = await board.removeDependency(c!.id, a!.id)
        if (same.status !== 'ready') throw new Error('changed')
        throw new Error('no-op')
      })
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.removeDependency(c!.id, 'nope'))
      await expectRefused(board, 'INVALID_INPUT', () => board.removeDependency(c!.id, c!.id))
    })

    it('deleteTask removes the task with its rows and releases a dependent it was the last open dependency of; refused under a live claim', async () => {
      const { board } = await openTestBoard(await create())
      await board.createTasks([{ id: 'gone', title: 'to delete', idempotencyKey: 'k' }, { id: 'other', title: 'other' }, { id: 'child', title: 'child', dependsOn: ['gone'] }])
      await board.addComment('gone', { body: 'note' })
      await board.addAttachment('gone', { name: 'log', uri: 'file:///log' })
      const claim = (await board.claim('gone', worker))!
      const refused = await expectRefused(board, 'INVALID_TRANSITION', () => board.deleteTask('gone'))
      expect(refused.message).toContain('reclaim')
      await board.fail('gone', claim.claimToken, 'boom')
      const deleted = await board.deleteTask('gone')
      expect(deleted).toEqual({ taskId: 'gone', runs: 1, events: 5, comments: 1, attachments: 1, dependencies: 1, promoted: ['child'] })
      expect(await board.getTask('gone')).toBeUndefined()
      for (const table of ['task_runs', 'comments', 'attachments', 'task_dependencies'] as const) {
        expect(await board.db.selectFrom(table).selectAll().execute()).toEqual([])
      }
      expect((await board.events()).map((event) => [event.taskId, event.kind])).toEqual([
        ['other', 'created'],
        ['child', 'created'],
        ['child', 'dependency_removed'],
      ])
      expect((await board.events({ taskId: 'child' })).at(-1)).toMatchObject({ fromStatus: 'todo', toStatus: 'ready', payload: { dependsOnId: 'gone', deleted: true } })
      expect((await board.getTask('child'))!.status).toBe('ready')
      // Its idempotency key is free again.
      expect((await board.createTask({ title: 'again', idempotencyKey: 'k' })).id).not.toBe('gone')
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.deleteTask('gone'))
    })

    it('pruneEvents deletes by age and by count, never past the lowest subscriber cursor', async () => {
      const { board, clock } = await openTestBoard(await create())
      await board.createTasks(Array.from({ length: 4 }, (_, i) => ({ title: `old ${i}` })))
      clock.advance(60_000)
      await board.createTasks(Array.from({ length: 4 }, (_, i) => ({ title: `new ${i}` })))
      const ids = (await board.events()).map((event) => event.id)
      // No subscriber: the age rule alone.
      expect(await board.pruneEvents({ olderThanMs: 30_000 })).toEqual({ deleted: 4, cursorFloor: undefined })
      expect((await board.events()).map((event) => event.id)).toEqual(ids.slice(4))
      // A subscriber that acknowledged one event holds back the rest.
      await board.subscribe('mail')
      const batch = (await board.takeEvents('mail', { limit: 1, leaseMs: 1_000 }))!
      await board.ackEvents('mail', batch.leaseToken)
      // A second batch leased and not acknowledged is after the cursor: kept.
      await board.takeEvents('mail', { limit: 2, leaseMs: 1_000 })
      expect(await board.pruneEvents({ keepLatest: 0 })).toEqual({ deleted: 1, cursorFloor: ids[4] })
      expect((await board.events()).map((event) => event.id)).toEqual(ids.slice(5))
      await board.unsubscribe('mail')
      expect(await board.pruneEvents({ keepLatest: 1 })).toEqual({ deleted: 2, cursorFloor: undefined })
      expect((await board.events()).map((event) => event.id)).toEqual(ids.slice(7))
      await expectRefused(board, 'INVALID_INPUT', () => board.pruneEvents({}))
      await expectRefused(board, 'INVALID_INPUT', () => board.pruneEvents({ keepLatest: -1 }))
    })
  })
}

import { describe, expect, it } from 'vitest'
import { TASK_STATUSES, transitions } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from '../board/helpers.js'

const reviewer = { ...worker, workerId: 'reviewer', role: 'review' } as const

describe('the transition table', () => {
  it('knows triage, scheduled and review, and every row names known statuses only', () => {
    for (const status of ['triage', 'scheduled', 'review'] as const) expect(TASK_STATUSES).toContain(status)
    for (const transition of Object.values(transitions)) {
      for (const status of [...transition.from, ...transition.to]) expect(TASK_STATUSES).toContain(status)
    }
    expect(transitions.claim.from).toEqual(['ready'])
    expect(transitions['claim-review'].from).toEqual(['review'])
    expect(transitions.approve.to).toEqual(['done'])
  })
})

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`triage and scheduled on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('a triage task is never claimed until accepted', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'unclear', triage: true })
      expect(task.status).toBe('triage')
      expect(await board.claimNext(worker)).toBeUndefined()
      expect(await board.accept(task.id)).toMatchObject({ status: 'ready' })
      expect((await board.claimNext(worker))!.id).toBe(task.id)
      await expectRefused(board, 'INVALID_TRANSITION', () => board.accept(task.id))
    })

    it('a scheduled task is never claimable before its due time, and is claimed from then on', async () => {
      const { board, clock } = await openTestBoard(await create())
      const later = await board.createTask({ title: 'later', dueAt: clock.now + 10_000, priority: 5 })
      const past = await board.createTask({ title: 'due already', dueAt: clock.now - 1 })
      expect(later).toMatchObject({ status: 'scheduled', dueAt: clock.now + 10_000 })
      expect(past.status).toBe('ready')
      expect((await board.claimNext(worker))!.id).toBe(past.id)
      clock.advance(9_999)
      expect(await board.claimNext(worker)).toBeUndefined()
      expect(await board.promoteScheduled()).toEqual([])
      expect((await board.getTask(later.id))!.status).toBe('scheduled')
      clock.advance(1)
      const claimed = (await board.claimNext(worker))!
      expect(claimed.id).toBe(later.id)
      const kinds = (await board.events({ taskId: later.id })).map((event) => [event.kind, event.toStatus])
      expect(kinds).toEqual([
        ['created', 'scheduled'],
        ['due', 'ready'],
        ['claimed', 'running'],
      ])
    })

    it('schedule() parks a ready task until its due time; at due a task with an open dependency is todo', async () => {
      const { board, clock } = await openTestBoard(await create())
      const dependency = await board.createTask({ title: 'dep', triage: true })
      const task = await board.createTask({ title: 't', dependsOn: [dependency.id] })
      expect(await board.schedule(task.id, clock.now + 100)).toMatchObject({ status: 'scheduled' })
      const ready = await board.createTask({ title: 'ready' })
      await board.schedule(ready.id, clock.now + 100)
      expect(await board.claimNext(worker)).toBeUndefined()
      clock.advance(100)
      expect((await board.promoteScheduled()).sort()).toEqual([task.id, ready.id].sort())
      expect((await board.getTask(task.id))!.status).toBe('todo')
      expect((await board.getTask(ready.id))!.status).toBe('ready')
      const running = (await board.claimNext(worker))!
      await expectRefused(board, 'INVALID_TRANSITION', () => board.schedule(running.id, clock.now + 100))
    })
  })

  describe.skipIf(skip !== undefined)(`review lifecycle on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('request review from the running attempt; a reviewer (never the author) claims; approve is done and releases dependents in the same commit', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'feature' })
      const dependent = await board.createTask({ title: 'deploy', dependsOn: [task.id] })
      const work = (await board.claimNext(worker))!
      const inReview = await board.requestReview(task.id, work.claimToken, { summary: 'added the endpoint', result: { pr: 7 } })
      expect(inReview).toMatchObject({ status: 'review', reviewRequestedBy: worker.workerId, reviewSummary: 'added the endpoint', result: { pr: 7 }, claimedBy: null })
      // Workers do not get it; its author does not get it as a reviewer.
      expect(await board.claimNext(worker)).toBeUndefined()
      expect(await board.claimNext({ ...reviewer, workerId: worker.workerId })).toBeUndefined()
      const review = (await board.claimNext(reviewer))!
      expect(review).toMatchObject({ id: task.id, status: 'review', claimedBy: 'reviewer' })
      expect(await board.claimNext({ ...reviewer, workerId: 'reviewer-2' })).toBeUndefined()
      await board.heartbeat(task.id, review.claimToken)
      // A review claim approves or rejects; it cannot complete or fail as if it were the work.
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.complete(task.id, review.claimToken))
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.fail(task.id, review.claimToken, 'x'))
      const before = (await board.events()).at(-1)!.id
      expect(await board.approve(task.id, review.claimToken, { comment: 'lgtm' })).toMatchObject({ status: 'done', result: { pr: 7 } })
      expect((await board.getTask(dependent.id))!.status).toBe('ready')
      const after = await board.events({ afterId: before })
      expect(after.map((event) => [event.kind, event.taskId])).toEqual([
        ['approved', task.id],
        ['promoted', dependent.id],
      ])
      const runs = await board.db.selectFrom('task_runs').select(['worker_id', 'outcome']).where('task_id', '=', task.id).orderBy('started_at').execute()
      expect(runs.map((run) => run.outcome).sort()).toEqual(['approved', 'review-requested'])
    })

    it('reject with reasons sends the card back to ready, counting rejections; at the limit it escalates to triage', async () => {
      const { board } = await openTestBoard(await create(), { maxReviewRejections: 2 })
      const task = await board.createTask({ title: 'feature', maxAttempts: 10 })
      const first = (await board.claimNext(worker))!
      await board.requestReview(task.id, first.claimToken)
      const review1 = (await board.claimNext(reviewer))!
      expect(await board.reject(task.id, review1.claimToken, 'tests missing')).toMatchObject({ status: 'ready', reviewRejections: 1, lastError: 'tests missing' })
      const second = (await board.claimNext(worker))!
      expect(second.id).toBe(task.id)
      await board.requestReview(task.id, second.claimToken)
      const review2 = (await board.claimNext(reviewer))!
      expect(await board.reject(task.id, review2.claimToken, 'still no tests')).toMatchObject({ status: 'triage', reviewRejections: 2 })
      expect((await board.events({ taskId: task.id })).at(-1)).toMatchObject({ kind: 'rejected', toStatus: 'triage', payload: { escalated: true, rejections: 2 } })
      expect(await board.accept(task.id)).toMatchObject({ status: 'ready', reviewRejections: 0 })
    })

    it('a validator process reviews through the same calls; only a review claim can approve or reject', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const work = (await board.claimNext(worker))!
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.approve(task.id, work.claimToken))
      await board.requestReview(task.id, work.claimToken)
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.approve(task.id, work.claimToken))
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.reject(task.id, 'made-up', 'no'))
      const validator = (await board.claimNext({ ...reviewer, workerId: 'lint-validator' }))!
      expect(await board.approve(task.id, validator.claimToken)).toMatchObject({ status: 'done' })
    })
  })
}

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`the require-review rule on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('refuses complete, so only an approved review makes a task done', async () => {
      const { board } = await openTestBoard(await create(), { requireReview: true })
      const task = await board.createTask({ title: 't' })
      const work = (await board.claimNext(worker))!
      const refused = await expectRefused(board, 'INVALID_TRANSITION', () => board.complete(task.id, work.claimToken))
      expect(refused.message).toContain('requires a review')
      await expectRefused(board, 'INVALID_TRANSITION', () => board.completeAndClaimNext(task.id, work.claimToken, null, worker))
      await board.requestReview(task.id, work.claimToken)
      const review = (await board.claimNext(reviewer))!
      expect(await board.approve(task.id, review.claimToken)).toMatchObject({ status: 'done' })
    })
  })
}

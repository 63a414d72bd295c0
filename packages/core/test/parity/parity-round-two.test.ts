import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from '../board/helpers.js'

// Issue 21, the Python board's users: scoped notifications, results and expiries in events, the
// attempts' own notes, a freed idempotency key after archive, and insertion order.

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`parity round two on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('a subscription scoped to a task and to kinds delivers only those events, moves past the rest, and unsubscribes', async () => {
      const { board } = await openTestBoard(await create())
      const [watched, other] = await board.createTasks([{ id: 'watched', title: 'watched' }, { id: 'other', title: 'other' }])
      await board.subscribe('done-of-watched', { taskId: watched!.id, kinds: ['completed', 'failed', 'completed'] })
      await board.subscribe('all')
      expect(await board.takeEvents('done-of-watched', { leaseMs: 1_000 })).toBeUndefined()
      const claimOther = await board.claim(other!.id, worker)
      await board.complete(other!.id, claimOther.claimToken, 'other result')
      const claim = await board.claim(watched!.id, worker)
      await board.addComment(watched!.id, { body: 'progress' })
      await board.complete(watched!.id, claim.claimToken, { answer: 42 })
      const batch = (await board.takeEvents('done-of-watched', { leaseMs: 1_000 }))!
      expect(batch.events.map((event) => [event.taskId, event.kind])).toEqual([['watched', 'completed']])
      expect(batch.events[0]!.payload).toEqual({ result: { answer: 42 } })
      const newest = (await board.events()).at(-1)!.id
      expect(batch.untilEventId).toBe(newest)
      expect(await board.ackEvents('done-of-watched', batch.leaseToken)).toBe(newest)
      // The whole-log subscriber still has everything.
      expect((await board.takeEvents('all', { leaseMs: 1_000, limit: 100 }))!.events).toHaveLength((await board.events()).length)
      // Another scope under the same name is refused; the same scope returns the cursor.
      await expect(board.subscribe('done-of-watched', { taskId: other!.id })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      expect(await board.subscribe('done-of-watched', { taskId: watched!.id, kinds: ['failed', 'completed'] })).toBe(newest)
      await expect(board.subscribe('x', { kinds: ['nope' as 'completed'] })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      await expect(board.subscribe('x', { kinds: [] })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      expect(await board.unsubscribe('done-of-watched')).toBe(true)
      expect(await board.unsubscribe('done-of-watched')).toBe(false)
      await expect(board.takeEvents('done-of-watched', { leaseMs: 1_000 })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
    })

    it('a scoped subscription with nothing of its scope moves its cursor past the rest, so pruning is not held back; a limit ends its batch at its last event', async () => {
      const { board } = await openTestBoard(await create())
      const watched = await board.createTask({ title: 'watched' })
      await board.subscribe('quiet', { taskId: watched.id, kinds: ['completed'] })
      await board.createTasks(Array.from({ length: 5 }, (_, i) => ({ title: `noise ${i}` })))
      const newest = (await board.events()).at(-1)!.id
      expect(await board.takeEvents('quiet', { leaseMs: 1_000 })).toBeUndefined()
      expect(await board.subscribe('quiet', { taskId: watched.id, kinds: ['completed'] })).toBe(newest)
      expect(await board.pruneEvents({ keepLatest: 0 })).toEqual({ deleted: 6, cursorFloor: newest })
      await board.subscribe('comments', { taskId: watched.id, kinds: ['commented'] })
      for (let i = 0; i < 3; i++) await board.addComment(watched.id, { body: `c${i}` })
      await board.createTask({ title: 'more noise' })
      const commented = (await board.events({ taskId: watched.id })).map((event) => event.id)
      const first = (await board.takeEvents('comments', { leaseMs: 1_000, limit: 2 }))!
      expect(first.events.map((event) => event.id)).toEqual(commented.slice(0, 2))
      expect(first.untilEventId).toBe(commented[1])
      await board.ackEvents('comments', first.leaseToken)
      const second = (await board.takeEvents('comments', { leaseMs: 1_000, limit: 2 }))!
      expect(second.events.map((event) => event.id)).toEqual(commented.slice(2))
      expect(second.untilEventId).toBe((await board.events()).at(-1)!.id)
    })

    it('comments added at once by many callers get distinct positions, read back in that order', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'busy' })
      await Promise.all(Array.from({ length: 20 }, (_, i) => board.addComment(task.id, { body: `c${i}` })))
      const rows = await board.db.selectFrom('comments').select(['seq', 'body']).where('task_id', '=', task.id).orderBy('seq').execute()
      expect(rows.map((row) => Number(row.seq))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      expect((await board.comments(task.id)).map((comment) => comment.body)).toEqual(rows.map((row) => row.body))
    })

    it('the completed event carries the result, or a bounded summary of a large one; the expired event the expiry and last heartbeat', async () => {
      const { board, clock } = await openTestBoard(await create())
      const [small, large, none, lost] = await board.createTasks([{ title: 'small' }, { title: 'large' }, { title: 'none' }, { title: 'lost' }])
      const big = { text: 'x'.repeat(20_000) }
      for (const [task, result] of [[small!, { ok: true }], [large!, big], [none!, undefined]] as const) {
        const claim = await board.claim(task.id, worker)
        await board.complete(task.id, claim.claimToken, result)
      }
      const completed = (await board.events({ limit: 1000 })).filter((event) => event.kind === 'completed')
      expect(completed[0]!.payload).toEqual({ result: { ok: true } })
      const summary = completed[1]!.payload as { resultTruncated: boolean; resultBytes: number; resultPreview: string }
      expect(summary).toMatchObject({ resultTruncated: true, resultBytes: JSON.stringify(big).length })
      expect(summary.resultPreview).toBe(JSON.stringify(big).slice(0, 1024))
      expect(completed[2]!.payload).toEqual({ result: null })
      const claim = await board.claim(lost!.id, { ...worker, leaseMs: 1_000 })
      clock.advance(500)
      await board.heartbeat(lost!.id, claim.claimToken)
      const beat = clock.now
      clock.advance(1_000)
      await board.releaseStaleClaims()
      const expired = (await board.events({ taskId: lost!.id })).at(-1)!
      expect(expired).toMatchObject({ kind: 'expired', payload: { claimExpiresAt: beat + 1_000, heartbeatAt: beat, claimedAt: beat - 500, leaseMs: 1_000 } })
    })

    it("each run keeps its own summary, result or error and metadata; runs() lists a task's attempts in order", async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'hard', maxAttempts: 5 })
      let claim = await board.claim(task.id, worker)
      await board.fail(task.id, claim.claimToken, 'compile error', { summary: 'tried approach A', metadata: { approach: 'A' } })
      claim = (await board.claimNext(worker))!
      await board.requestReview(task.id, claim.claimToken, { summary: 'approach B', result: { patch: 'b.diff' } })
      const review = (await board.claimNext({ ...worker, workerId: 'reviewer', role: 'review' }))!
      await board.reject(task.id, review.claimToken, 'B breaks the API')
      clock.advance(1)
      claim = (await board.claimNext(worker))!
      // What the third attempt can read about the first two.
      const earlier = await board.runs(task.id)
      expect(earlier.map((run) => [run.attempt, run.role, run.outcome])).toEqual([
        [1, 'work', 'failed'],
        [2, 'work', 'review-requested'],
        [2, 'review', 'rejected'],
        [3, 'work', null],
      ])
      expect(earlier[0]).toMatchObject({ error: 'compile error', summary: 'tried approach A', metadata: { approach: 'A' }, result: null })
      expect(earlier[1]).toMatchObject({ summary: 'approach B', result: { patch: 'b.diff' }, error: null, metadata: null })
      expect(earlier[2]).toMatchObject({ workerId: 'reviewer', error: 'B breaks the API' })
      await board.complete(task.id, claim.claimToken, { patch: 'c.diff' }, { summary: 'approach C', metadata: { tokens: 1200 } })
      expect((await board.runs(task.id))[3]).toMatchObject({ outcome: 'completed', summary: 'approach C', result: { patch: 'c.diff' }, metadata: { tokens: 1200 } })
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.runs('nope'))
      const other = await board.createTask({ title: 'x' })
      const otherClaim = await board.claim(other.id, worker)
      await expectRefused(board, 'INVALID_INPUT', () => board.complete(other.id, otherClaim.claimToken, null, { metadata: [] as never }))
      await expectRefused(board, 'INVALID_INPUT', () => board.fail(other.id, otherClaim.claimToken, 'e', { summary: 5 as never }))
    })

    it("an archived task's idempotency key is free again: the next create with it makes a new task, the archived one keeps showing it", async () => {
      const { board } = await openTestBoard(await create())
      const first = await board.createTask({ title: 'nightly', idempotencyKey: 'nightly-2026-12-06' })
      expect((await board.createTask({ title: 'nightly', idempotencyKey: 'nightly-2026-12-06' })).id).toBe(first.id)
      const archived = await board.archive(first.id)
      expect(archived.idempotencyKey).toBe('nightly-2026-12-06')
      const second = await board.createTask({ title: 'nightly again', idempotencyKey: 'nightly-2026-12-06' })
      expect(second.id).not.toBe(first.id)
      expect((await board.createTask({ title: 'nightly', idempotencyKey: 'nightly-2026-12-06' })).id).toBe(second.id)
      // A done task keeps its key: only archive (or deleteTask) frees it.
      const claim = await board.claim(second.id, worker)
      await board.complete(second.id, claim.claimToken)
      expect((await board.createTask({ title: 'nightly', idempotencyKey: 'nightly-2026-12-06' })).id).toBe(second.id)
      expect((await board.getTask(first.id))!.idempotencyKey).toBe('nightly-2026-12-06')
    })

    it('comments and attachments added in the same millisecond come back in insertion order', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'chatty' })
      // The test clock stands still: every row has the same created_at, and ids are random after their time.
      for (let i = 0; i < 30; i++) await board.addComment(task.id, { body: `comment ${i}` })
      for (let i = 0; i < 30; i++) await board.addAttachment(task.id, { name: `file ${i}`, uri: `file:///${i}` })
      expect((await board.comments(task.id)).map((comment) => comment.body)).toEqual(Array.from({ length: 30 }, (_, i) => `comment ${i}`))
      expect((await board.attachments(task.id)).map((attachment) => attachment.name)).toEqual(Array.from({ length: 30 }, (_, i) => `file ${i}`))
      // In one transaction too.
      const other = await board.createTask({ title: 'batch' })
      await board.writeTxn(async () => {
        for (let i = 0; i < 10; i++) await board.addComment(other.id, { body: `c${i}` })
      })
      expect((await board.comments(other.id)).map((comment) => comment.body)).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`))
    })
  })
}

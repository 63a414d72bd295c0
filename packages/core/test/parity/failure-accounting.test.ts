import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_RETRIES } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from '../board/helpers.js'

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`failure accounting on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it(`gives up past the board's maxRetries (default ${DEFAULT_MAX_RETRIES}): spawn failures, timeouts and errors count; blocked with a gave-up event`, async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't', maxAttempts: 10 })
      const kinds = ['spawn', 'timeout', 'error'] as const
      const statuses = []
      for (const kind of kinds) {
        const claim = (await board.claimNext(worker))!
        statuses.push((await board.fail(task.id, claim.claimToken, `${kind} went wrong`, { kind })).status)
      }
      expect(statuses).toEqual(['ready', 'ready', 'blocked'])
      const given = (await board.getTask(task.id))!
      expect(given).toMatchObject({ status: 'blocked', consecutiveFailures: 3, blockKind: 'gave-up', attempts: 3 })
      expect(given.blockReason).toContain('gave up after 3 consecutive failures')
      const events = (await board.events({ taskId: task.id })).filter((event) => ['retried', 'gave-up'].includes(event.kind))
      expect(events.map((event) => [event.kind, event.toStatus])).toEqual([
        ['retried', 'ready'],
        ['retried', 'ready'],
        ['gave-up', 'blocked'],
      ])
      const outcomes = await board.db.selectFrom('task_runs').select('outcome').where('task_id', '=', task.id).orderBy('attempt').execute()
      expect(outcomes.map((run) => run.outcome)).toEqual(['spawn-failed', 'timed-out', 'failed'])
      // Unblocking gives the task a fresh count.
      expect(await board.unblock(task.id)).toMatchObject({ status: 'ready', consecutiveFailures: 0 })
    })

    it('a per-task maxRetries beats the board option; maxRetries 0 gives up at the first failure', async () => {
      const { board } = await openTestBoard(await create(), { maxRetries: 5 })
      const strict = await board.createTask({ title: 'strict', maxRetries: 0, priority: 1 })
      const lenient = await board.createTask({ title: 'lenient', maxAttempts: 10 })
      const one = (await board.claimNext(worker))!
      expect(one.id).toBe(strict.id)
      expect(await board.fail(strict.id, one.claimToken, 'x')).toMatchObject({ status: 'blocked', blockKind: 'gave-up', maxRetries: 0 })
      for (let i = 0; i < 5; i++) {
        const claim = (await board.claimNext(worker))!
        expect((await board.fail(lenient.id, claim.claimToken, 'x')).status).toBe('ready')
      }
      const sixth = (await board.claimNext(worker))!
      expect((await board.fail(lenient.id, sixth.claimToken, 'x')).status).toBe('blocked')
    })

    it('success resets the count; a used-up attempt budget still fails the task; retry:false fails at once', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const first = (await board.claimNext(worker))!
      expect(await board.fail(task.id, first.claimToken, 'x')).toMatchObject({ consecutiveFailures: 1 })
      const second = (await board.claimNext(worker))!
      expect(await board.complete(task.id, second.claimToken)).toMatchObject({ status: 'done', consecutiveFailures: 0 })
      // Asking for review is a success too: the count starts again after a rejection.
      const reviewed = await board.createTask({ title: 'reviewed', maxAttempts: 10 })
      const a = (await board.claimNext(worker))!
      await board.fail(reviewed.id, a.claimToken, 'x')
      const b = (await board.claimNext(worker))!
      await board.fail(reviewed.id, b.claimToken, 'x')
      const c = (await board.claimNext(worker))!
      expect(await board.requestReview(reviewed.id, c.claimToken)).toMatchObject({ status: 'review', consecutiveFailures: 0 })
      const review = (await board.claimNext({ ...worker, workerId: 'reviewer', role: 'review' }))!
      await board.reject(reviewed.id, review.claimToken, 'not yet')
      const d = (await board.claimNext(worker))!
      expect(await board.fail(reviewed.id, d.claimToken, 'x')).toMatchObject({ status: 'ready', consecutiveFailures: 1 })
      const last = await board.createTask({ title: 'last', maxAttempts: 1, priority: -1 })
      const e = (await board.claimNext(worker))!
      expect(e.id).toBe(reviewed.id)
      await board.complete(reviewed.id, e.claimToken)
      const f = (await board.claimNext(worker))!
      expect(await board.fail(last.id, f.claimToken, 'x')).toMatchObject({ status: 'failed' })
      const fatal = await board.createTask({ title: 'fatal', maxAttempts: 10 })
      const g = (await board.claimNext(worker))!
      expect(await board.fail(fatal.id, g.claimToken, 'x', { retry: false })).toMatchObject({ status: 'failed', consecutiveFailures: 1 })
    })

    it('a rate-limited outcome requeues without counting a failure or an attempt', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't', maxAttempts: 1, maxRetries: 0 })
      for (let i = 0; i < 4; i++) {
        const claim = (await board.claimNext(worker))!
        expect(await board.fail(task.id, claim.claimToken, 'HTTP 429', { rateLimited: true })).toMatchObject({
          status: 'ready',
          attempts: 0,
          consecutiveFailures: 0,
        })
      }
      const requeued = (await board.events({ taskId: task.id })).filter((event) => event.kind === 'requeued')
      expect(requeued).toHaveLength(4)
      const outcomes = await board.db.selectFrom('task_runs').select('outcome').where('task_id', '=', task.id).execute()
      expect(outcomes.every((run) => run.outcome === 'rate-limited')).toBe(true)
      const claim = (await board.claimNext(worker))!
      expect(await board.complete(task.id, claim.claimToken)).toMatchObject({ status: 'done', attempts: 1 })
    })

    it('crashes count (gave-up at the limit); expired leases do not', async () => {
      const { board, clock } = await openTestBoard(await create(), { maxRetries: 1 })
      const task = await board.createTask({ title: 't', maxAttempts: 10 })
      for (let i = 0; i < 3; i++) {
        await board.claimNext({ ...worker, leaseMs: 1000 })
        clock.advance(1000)
        await board.releaseStaleClaims()
      }
      expect(await board.getTask(task.id)).toMatchObject({ status: 'ready', consecutiveFailures: 0, attempts: 3 })
      await board.claimNext({ ...worker, pid: 4242 })
      clock.advance(60_000)
      expect(await board.detectCrashedWorkers({ isAlive: () => false, graceMs: 0, host: worker.host })).toEqual([
        expect.objectContaining({ taskId: task.id, status: 'ready' }),
      ])
      await board.claimNext({ ...worker, pid: 4243 })
      clock.advance(60_000)
      expect(await board.detectCrashedWorkers({ isAlive: () => false, graceMs: 0, host: worker.host })).toEqual([
        expect.objectContaining({ taskId: task.id, status: 'blocked' }),
      ])
      expect(await board.getTask(task.id)).toMatchObject({ status: 'blocked', blockKind: 'gave-up', consecutiveFailures: 2 })
      expect((await board.events({ taskId: task.id })).at(-1)).toMatchObject({ kind: 'gave-up', fromStatus: 'running', toStatus: 'blocked' })
    })

    it('reports running attempts past their maxRuntimeMs, to be terminated and failed as timeouts', async () => {
      const { board, clock } = await openTestBoard(await create())
      const bounded = await board.createTask({ title: 'bounded', maxRuntimeMs: 5000, priority: 1 })
      await board.createTask({ title: 'unbounded' })
      const claim = (await board.claimNext(worker))!
      await board.claimNext(worker)
      clock.advance(4999)
      expect(await board.overrunningClaims()).toEqual([])
      clock.advance(1)
      expect(await board.overrunningClaims()).toEqual([
        { taskId: bounded.id, runId: claim.runId, workerId: worker.workerId, pid: worker.pid, host: worker.host, startedAt: clock.now - 5000, maxRuntimeMs: 5000 },
      ])
      expect(await board.fail(bounded.id, claim.claimToken, 'ran past 5 s', { kind: 'timeout' })).toMatchObject({ consecutiveFailures: 1 })
      expect(await board.overrunningClaims()).toEqual([])
    })

    it('refuses bad failure options, changing nothing', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const claim = (await board.claimNext(worker))!
      await expectRefused(board, 'INVALID_INPUT', () => board.fail(task.id, claim.claimToken, 'x', { kind: 'oops' as never }))
      await expectRefused(board, 'INVALID_INPUT', () => board.fail(task.id, claim.claimToken, 'x', { rateLimited: 'yes' as never }))
      await expectRefused(board, 'INVALID_INPUT', () => board.createTask({ title: 't', maxRetries: -1 }))
    })
  })

  describe.skipIf(skip !== undefined)(`block loops on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('the same block kind twice in a row sends the task to triage; another kind starts over', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const first = (await board.claimNext(worker))!
      expect(await board.block(task.id, 'need the API key', { claimToken: first.claimToken, kind: 'needs-input' })).toMatchObject({
        status: 'blocked',
        blockKind: 'needs-input',
        blockRecurrences: 1,
      })
      await board.unblock(task.id)
      const second = (await board.claimNext(worker))!
      await board.block(task.id, 'disk full', { claimToken: second.claimToken, kind: 'environment' })
      await board.unblock(task.id)
      const third = (await board.claimNext(worker))!
      await board.block(task.id, 'disk full again', { claimToken: third.claimToken, kind: 'environment' })
      const looped = (await board.getTask(task.id))!
      expect(looped).toMatchObject({ status: 'triage', blockKind: 'environment', blockRecurrences: 2, claimedBy: null })
      expect((await board.events({ taskId: task.id })).at(-1)).toMatchObject({
        kind: 'blocked',
        fromStatus: 'running',
        toStatus: 'triage',
        payload: { reason: 'disk full again', kind: 'environment', recurrences: 2, loopDetected: true },
      })
      expect(await board.claimNext(worker)).toBeUndefined()
      expect(await board.accept(task.id)).toMatchObject({ status: 'ready', blockKind: null, blockRecurrences: 0 })
      // Blocks without a kind never count as a loop (the board core's behaviour).
      const plain = (await board.claimNext(worker))!
      await board.block(task.id, 'a', { claimToken: plain.claimToken })
      await board.unblock(task.id)
      const plainAgain = (await board.claimNext(worker))!
      expect(await board.block(task.id, 'a', { claimToken: plainAgain.claimToken })).toMatchObject({ status: 'blocked' })
    })

    it('a block of kind dependency goes back to todo with its new dependencies and is promoted when they are done', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'feature', priority: 2 })
      const claim = (await board.claimNext(worker))!
      const migration = await board.createTask({ title: 'migration first', priority: 1 })
      const waiting = await board.block(task.id, 'needs the migration', { claimToken: claim.claimToken, kind: 'dependency', dependsOn: [migration.id] })
      expect(waiting).toMatchObject({ status: 'todo', claimedBy: null, blockKind: 'dependency' })
      const next = (await board.claimNext(worker))!
      expect(next.id).toBe(migration.id)
      await board.complete(migration.id, next.claimToken)
      expect((await board.getTask(task.id))!.status).toBe('ready')
      // Twice in a row is no loop for dependency blocks; with nothing open it goes straight to ready.
      const again = (await board.claimNext(worker))!
      expect(await board.block(task.id, 'still waiting?', { claimToken: again.claimToken, kind: 'dependency' })).toMatchObject({ status: 'ready' })
      await expectRefused(board, 'INVALID_INPUT', () => board.block(task.id, 'x', { dependsOn: [migration.id] }))
      const base = await board.createTask({ title: 'base' })
      const top = await board.createTask({ title: 'top', dependsOn: [base.id] })
      await expectRefused(board, 'DEPENDENCY_CYCLE', () => board.block(base.id, 'x', { kind: 'dependency', dependsOn: [top.id] }))
    })
  })
}

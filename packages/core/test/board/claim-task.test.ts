import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

// claim(taskId, options): a dispatcher that picks the task itself gets claimNext's semantics.

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`claim a named task on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('claims the named ready task (not the best one) with a token, lease, run and claimed event', async () => {
      const { board, clock } = await openTestBoard(await create())
      await board.createTask({ title: 'best', priority: 9 })
      const named = await board.createTask({ title: 'mine', assignee: 'someone-else' })
      const claim = await board.claim(named.id, worker)
      expect(claim).toMatchObject({ id: named.id, status: 'running', claimedBy: worker.workerId, attempts: 1, claimExpiresAt: clock.now + worker.leaseMs })
      expect(claim.claimToken).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect((await board.events({ taskId: named.id })).at(-1)).toMatchObject({ kind: 'claimed', runId: claim.runId, fromStatus: 'ready', toStatus: 'running' })
      expect(await board.runs(named.id)).toMatchObject([{ id: claim.runId, attempt: 1, role: 'work', workerId: worker.workerId, outcome: null }])
      expect((await board.complete(named.id, claim.claimToken, { ok: true })).status).toBe('done')
    })

    it('refuses a task that is not claimable with InvalidTransition saying why, and changes nothing', async () => {
      const { board, clock } = await openTestBoard(await create())
      const [dep, waiting] = await board.createTasks([{ id: 'dep', title: 'dep' }, { id: 'waiting', title: 'waiting', dependsOn: ['dep'] }])
      expect((await expectRefused(board, 'INVALID_TRANSITION', () => board.claim(waiting!.id, worker))).message).toContain('dep')
      const first = await board.claim(dep!.id, worker)
      const running = await expectRefused(board, 'INVALID_TRANSITION', () => board.claim(dep!.id, { ...worker, workerId: 'other' }))
      expect(running.message).toContain(`claim of ${worker.workerId}`)
      await board.fail(dep!.id, first.claimToken, 'later', { retryAfterMs: 5_000 })
      expect((await expectRefused(board, 'INVALID_TRANSITION', () => board.claim(dep!.id, worker))).message).toContain('not claimable before')
      const later = await board.createTask({ title: 'later', dueAt: clock.now + 1_000 })
      expect((await expectRefused(board, 'INVALID_TRANSITION', () => board.claim(later.id, worker))).message).toContain('scheduled')
      const triaged = await board.createTask({ title: 'triage', triage: true })
      await expectRefused(board, 'INVALID_TRANSITION', () => board.claim(triaged.id, worker))
      await expectRefused(board, 'TASK_NOT_FOUND', () => board.claim('nope', worker))
      await expectRefused(board, 'INVALID_INPUT', () => board.claim(dep!.id, { workerId: 'w', leaseMs: 0 }))
      // A scheduled task whose time has come is made due and claimed in one call.
      clock.advance(5_000)
      const due = await board.claim(later.id, worker)
      expect((await board.events({ taskId: later.id })).map((event) => event.kind)).toEqual(['created', 'due', 'claimed'])
      expect(due.status).toBe('running')
      expect((await board.claim(dep!.id, worker)).attempts).toBe(2)
    })

    it.skipIf(engine === 'sqlite')('two claimers of one task at once: exactly one gets it, the other is refused (the row is locked)', async () => {
      const { board } = await openTestBoard(await create())
      for (let round = 0; round < 10; round++) {
        const task = await board.createTask({ title: `race ${round}` })
        const results = await Promise.allSettled([board.claim(task.id, { ...worker, workerId: 'a' }), board.claim(task.id, { ...worker, workerId: 'b' })])
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult
        expect(refused.reason).toMatchObject({ code: 'INVALID_TRANSITION' })
        expect(await board.db.selectFrom('task_runs').select('id').where('task_id', '=', task.id).execute()).toHaveLength(1)
      }
    })
  })
}

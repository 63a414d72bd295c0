import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from '../board/helpers.js'

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`completeAndClaimNext on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('completes and claims the next task in one commit, including a dependent the completion just released', async () => {
      const { board } = await openTestBoard(await create())
      const first = await board.createTask({ title: 'first', priority: 1 })
      const second = await board.createTask({ title: 'second', dependsOn: [first.id] })
      const claim = (await board.claimNext(worker))!
      const before = (await board.events()).at(-1)!.id
      const { completed, next } = await board.completeAndClaimNext(first.id, claim.claimToken, { ok: true }, worker)
      expect(completed).toMatchObject({ id: first.id, status: 'done', result: { ok: true } })
      expect(next).toMatchObject({ id: second.id, status: 'running', claimedBy: worker.workerId })
      expect((await board.events({ afterId: before })).map((event) => [event.kind, event.taskId])).toEqual([
        ['completed', first.id],
        ['promoted', second.id],
        ['claimed', second.id],
      ])
      const last = await board.completeAndClaimNext(second.id, next!.claimToken, null, worker)
      expect(last.next).toBeUndefined()
      expect(last.completed.status).toBe('done')
    })

    it('a refused completion claims nothing (one transaction)', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't', priority: 1 })
      await board.createTask({ title: 'waiting' })
      const claim = (await board.claimNext(worker))!
      expect(claim.id).toBe(task.id)
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.completeAndClaimNext(task.id, 'not-the-token', null, worker))
      await expectRefused(board, 'INVALID_INPUT', () => board.completeAndClaimNext(task.id, claim.claimToken, null, { ...worker, leaseMs: 0 }))
    })
  })
}

import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`release and retryAfterMs on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('release hands a running task back to ready counting nothing, with its reason on the run and one event', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'handed back', maxAttempts: 1 })
      const claim = (await board.claimNext(worker))!
      const released = await board.release(task.id, claim.claimToken, { reason: 'shutdown', retryAfterMs: 5_000 })
      expect(released).toMatchObject({ status: 'ready', attempts: 0, consecutiveFailures: 0, claimedBy: null, notBefore: clock.now + 5_000 })
      const run = await board.db.selectFrom('task_runs').select(['outcome', 'error', 'ended_at']).executeTakeFirstOrThrow()
      expect(run).toMatchObject({ outcome: 'released', error: 'shutdown' })
      expect((await board.events({ taskId: task.id })).map((event) => event.kind)).toEqual(['created', 'claimed', 'released'])
      // Not before its time, then claimable again: with maxAttempts 1 it still has its one attempt.
      expect(await board.claimNext(worker)).toBeUndefined()
      clock.advance(5_000)
      const again = (await board.claimNext(worker))!
      expect(again).toMatchObject({ id: task.id, attempts: 1, notBefore: null })
      // The old token is refused, and nothing changes.
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.release(task.id, claim.claimToken))
    })

    it('refuses bad retryAfterMs and reasons before writing anything', async () => {
      const { board } = await openTestBoard(await create())
      const task = await board.createTask({ title: 'x' })
      const claim = (await board.claimNext(worker))!
      await expectRefused(board, 'INVALID_INPUT', () => board.fail(task.id, claim.claimToken, 'e', { retryAfterMs: -1 }))
      await expectRefused(board, 'INVALID_INPUT', () => board.fail(task.id, claim.claimToken, 'e', { retryAfterMs: 1.5 }))
      await expectRefused(board, 'INVALID_INPUT', () => board.release(task.id, claim.claimToken, { reason: '' }))
      await expectRefused(board, 'INVALID_INPUT', () => board.release(task.id, claim.claimToken, { retryAfterMs: 8 * 24 * 3_600_000 }))
    })
  })
}

import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { openTestBoard } from '../board/helpers.js'
import { stopAfterTest, until } from './helpers.js'

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`board.work on a board that requires review, on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it("submits the handler's result for review instead of completing (complete is refused there), once", async () => {
      const { board } = await openTestBoard(await create(), { clock: undefined, requireReview: true })
      const task = await board.createTask({ title: 'needs a reviewer' })
      let calls = 0
      const worker = stopAfterTest(board.work({ workerId: 'w-1' }, () => {
        calls += 1
        return { draft: 'done by w-1' }
      }))
      await until('the task waits for review', async () => (await board.getTask(task.id))!.status === 'review')
      expect((await worker.stop()).completed).toBe(1)
      expect(calls).toBe(1)
      expect(await board.getTask(task.id)).toMatchObject({ status: 'review', reviewRequestedBy: 'w-1', result: { draft: 'done by w-1' } })
    })
  })
}

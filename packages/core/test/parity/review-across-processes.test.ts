import { describe, expect, it } from 'vitest'
import { bundledAdapters } from '../adapters.js'
import { openSharedBoard, sharesFiles, startChildren } from './helpers.js'

const TOTAL = 60

for (const { name, create } of bundledAdapters.filter((adapter) => sharesFiles(adapter.name))) {
  describe(`review claims across processes on ${name}`, () => {
    it('reviewers in 3 processes never get one review twice, and never their own work', async () => {
      const adapter = await create()
      const { board, path } = await openSharedBoard(adapter)
      const children = await startChildren(2, adapter, path)
      try {
        // Half the work was done by reviewer-0 (a child), half by 'author': reviewer-0 may review only the second half.
        await board.createTasks(Array.from({ length: TOTAL }, (_, index) => ({ id: `t${index}`, title: `t${index}` })))
        for (let index = 0; index < TOTAL; index++) {
          const workerId = index % 2 === 0 ? 'reviewer-0' : 'author'
          const claim = (await board.claimNext({ workerId, leaseMs: 600_000 }))!
          await board.requestReview(claim.id, claim.claimToken, { summary: `by ${workerId}` })
        }
        children.forEach((child, index) => child.send({ type: 'review', workerId: `reviewer-${index}` }))
        const own: string[] = []
        for (;;) {
          const review = await board.claimNext({ workerId: 'reviewer-parent', leaseMs: 600_000, role: 'review' })
          if (!review) break
          await board.approve(review.id, review.claimToken)
          own.push(review.id)
        }
        const [first, second] = await Promise.all(children.map(async (child) => (await child.next('reviewed')).approved as string[]))
        const all = [...own, ...first!, ...second!]
        expect(all).toHaveLength(TOTAL)
        expect(new Set(all).size).toBe(TOTAL)
        const tasks = await board.listTasks({ limit: TOTAL })
        expect(tasks.every((task) => task.status === 'done')).toBe(true)
        // reviewer-0 never reviewed its own work.
        for (const id of first!) expect(tasks.find((task) => task.id === id)!.reviewRequestedBy).not.toBe('reviewer-0')
        const approvals = (await board.events({ limit: 10_000 })).filter((event) => event.kind === 'approved')
        expect(approvals).toHaveLength(TOTAL)
      } finally {
        await Promise.all(children.map((child) => child.reap()))
        await board.close()
      }
    })
  })
}

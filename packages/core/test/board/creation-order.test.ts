import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { openTestBoard } from './helpers.js'

// listTasks is oldest first: created_at, then id. Tasks made in one millisecond share created_at,
// so their ids decide; an id made in the same millisecond as the one before continues from it
// (board/ids.ts), so they list in the order they were created. With 16 random characters per id
// instead, 200 tasks of one millisecond would list in creation order once in 200! runs.
for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`creation order on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('tasks created in the same millisecond list in the order they were created, a batch and single creates alike', async () => {
      const { board, clock } = await openTestBoard(await create())
      const batch = await board.createTasks(Array.from({ length: 200 }, (_, i) => ({ title: `batch ${i}` })))
      const singles = []
      for (let i = 0; i < 20; i++) singles.push(await board.createTask({ title: `single ${i}` }))
      clock.advance(1)
      const later = await board.createTasks(Array.from({ length: 50 }, (_, i) => ({ title: `later ${i}` })))
      const created = [...batch, ...singles, ...later]
      expect(new Set(created.map((task) => task.id)).size).toBe(created.length)
      expect(created.slice(0, 220).every((task) => task.createdAt === batch[0]!.createdAt)).toBe(true)
      const listed = await board.listTasks({ limit: 1000 })
      expect(listed.map((task) => task.title)).toEqual(created.map((task) => task.title))
    })

    it('two boards on different clocks taking turns in one thread each list their own tasks in creation order', async () => {
      const first = await openTestBoard(await create())
      const second = await openTestBoard(await create())
      second.clock.advance(1_000)
      const created: Record<'first' | 'second', string[]> = { first: [], second: [] }
      for (let i = 0; i < 60; i++) {
        for (const [which, { board }] of [['first', first], ['second', second]] as const) {
          created[which].push((await board.createTask({ title: `${which} ${i}` })).title)
        }
      }
      expect((await first.board.listTasks({ limit: 1000 })).map((task) => task.title)).toEqual(created.first)
      expect((await second.board.listTasks({ limit: 1000 })).map((task) => task.title)).toEqual(created.second)
    })
  })
}

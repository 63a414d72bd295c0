import { describe, expect, it } from 'vitest'
import { bundledAdapters } from '../adapters.js'
import { openTestBoard } from './helpers.js'

for (const { name, create } of bundledAdapters) {
  describe(`onWake on ${name}`, () => {
    it("calls each subscription once per write of this process (a nested write is the outer one's), and a listener's failure is its own", async () => {
      const { board } = await openTestBoard(await create())
      let woken = 0
      const listener = (): void => void woken++
      const first = board.onWake(listener)
      const second = board.onWake(listener)
      const failing = board.onWake(() => {
        throw new Error('a listener bug')
      })
      await board.createTask({ title: 'a' })
      expect(woken).toBe(2)
      await board.writeTxn(async () => {
        await board.createTask({ title: 'b' })
        await board.createTask({ title: 'c' })
      })
      expect(woken).toBe(4)
      first()
      second()
      second()
      failing()
      await board.createTask({ title: 'd' })
      expect(woken).toBe(4)
      expect((await board.listTasks()).map((task) => task.title).sort()).toEqual(['a', 'b', 'c', 'd'])
    })
  })
}

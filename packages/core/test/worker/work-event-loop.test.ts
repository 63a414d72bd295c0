import { describe, expect, it } from 'vitest'
import { bundledAdapters } from '../adapters.js'
import { openWorkerBoard, stopAfterTest, until } from './helpers.js'

// On a synchronous driver every board call settles in microtasks. A worker chaining quick tasks must
// still let timers, signals and I/O run between them, or a SIGTERM handler (and the heartbeats)
// would wait for the whole backlog.
for (const { name, create } of bundledAdapters) {
  describe(`board.work on ${name}`, () => {
    it('lets a timer run while it chains through a backlog of quick tasks', async () => {
      const board = await openWorkerBoard(await create())
      await board.createTasks(Array.from({ length: 1_000 }, (_, index) => ({ title: `quick ${index}` })))
      let completed = 0
      let completedWhenTimerRan: number | undefined
      const worker = stopAfterTest(board.work({ workerId: 'w-1' }, () => void completed++))
      setTimeout(() => (completedWhenTimerRan = completed), 0)
      await until('the backlog is done', async () => (await board.listTasks({ status: 'ready', limit: 1 })).length === 0 && worker.running === 0)
      expect(completedWhenTimerRan).toBeDefined()
      expect(completedWhenTimerRan!).toBeLessThan(1_000)
    })
  })
}

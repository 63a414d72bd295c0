import { describe, expect, it } from 'vitest'
import { WorkAborted } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { openWorkerBoard, record, stopAfterTest, until } from './helpers.js'

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`stopping board.work on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('stop() claims nothing more and lets the running handler finish and complete', async () => {
      const board = await openWorkerBoard(await create())
      const first = await board.createTask({ title: 'first', priority: 1 })
      const second = await board.createTask({ title: 'second' })
      let finish!: () => void
      const worker = board.work({ workerId: 'w-1' }, () => new Promise<string>((resolve) => (finish = () => resolve('finished'))))
      await until('the first task runs', async () => (await board.getTask(first.id))!.status === 'running')
      const stopping = worker.stop({ timeoutMs: 60_000 })
      finish()
      const summary = await stopping
      expect(summary).toMatchObject({ completed: 1, released: 0 })
      expect((await board.getTask(first.id))!.status).toBe('done')
      // The completion did not chain a claim: the worker was stopping.
      expect((await board.getTask(second.id))!.status).toBe('ready')
    })

    it("past stop()'s deadline it aborts the handler and releases the task, counting no attempt", async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'too long for the deadline' })
      const reasons: unknown[] = []
      const worker = board.work({ workerId: 'w-1' }, (_task, { signal }) => new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => {
        reasons.push(signal.reason)
        reject(signal.reason)
      })))
      const released = record(worker, 'released')
      await until('the task runs', async () => (await board.getTask(task.id))!.status === 'running')
      const summary = await worker.stop({ timeoutMs: 50 })
      expect(summary).toMatchObject({ released: 1, completed: 0, failed: 0 })
      expect((reasons[0] as WorkAborted).kind).toBe('shutdown')
      expect(released[0]!.event.reason).toBe('shutdown')
      expect(await board.getTask(task.id)).toMatchObject({ status: 'ready', attempts: 0, claimedBy: null, consecutiveFailures: 0 })
      const run = await board.db.selectFrom('task_runs').select(['outcome', 'error']).where('task_id', '=', task.id).executeTakeFirstOrThrow()
      expect(run).toEqual({ outcome: 'released', error: 'shutdown' })
      const event = (await board.events({ taskId: task.id })).at(-1)!
      expect(event).toMatchObject({ kind: 'released', fromStatus: 'running', toStatus: 'ready', payload: { reason: 'shutdown' } })
    })

    it('a second stop() with a shorter timeout brings the deadline forward', async () => {
      const board = await openWorkerBoard(await create())
      await board.createTask({ title: 'runs until aborted' })
      const worker = board.work({ workerId: 'w-1' }, (_task, { signal }) => new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))))
      await until('the task runs', async () => (await board.listTasks({ status: 'running' })).length === 1)
      void worker.stop({ timeoutMs: 3_600_000 })
      expect((await worker.stop({ timeoutMs: 0 })).released).toBe(1)
    })

    it('its signal option stops it, and closing the board stops its workers first', async () => {
      const board = await openWorkerBoard(await create())
      const controller = new AbortController()
      const idle = board.work({ workerId: 'w-idle', signal: controller.signal }, () => 'never')
      controller.abort()
      expect(await idle.stopped).toMatchObject({ completed: 0 })

      const task = await board.createTask({ title: 'running at close' })
      const worker = stopAfterTest(board.work({ workerId: 'w-1' }, (_task, { signal }) => new Promise<never>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)))))
      await until('the task runs', async () => (await board.getTask(task.id))!.status === 'running')
      await board.close()
      expect(await worker.stopped).toMatchObject({ released: 1 })
    })
  })
}

import { describe, expect, it } from 'vitest'
import { WorkAborted } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { openWorkerBoard, record, stopAfterTest, until } from './helpers.js'

/** A handler that runs until its signal aborts, and reports the reason. */
function untilAborted(reasons: unknown[]) {
  return (_task: unknown, { signal }: { signal: AbortSignal }) =>
    new Promise<never>((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        reasons.push(signal.reason)
        reject(signal.reason)
      })
    })
}

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`board.work aborts on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it("aborts a task past its maxRuntimeMs and fails it as a counted timeout", async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'hangs', maxRuntimeMs: 300, maxAttempts: 1 })
      const reasons: unknown[] = []
      const worker = stopAfterTest(board.work({ workerId: 'w-1' }, untilAborted(reasons)))
      const failures = record(worker, 'failed')
      await until('the task failed', async () => (await board.getTask(task.id))!.status === 'failed')
      expect(reasons).toHaveLength(1)
      expect(reasons[0]).toBeInstanceOf(WorkAborted)
      expect((reasons[0] as WorkAborted).kind).toBe('timeout')
      expect(failures[0]!.event.timedOut).toBe(true)
      const run = await board.db.selectFrom('task_runs').select(['outcome', 'error']).where('task_id', '=', task.id).executeTakeFirstOrThrow()
      expect(run.outcome).toBe('timed-out')
      expect(run.error).toMatch(/maxRuntimeMs \(300 ms\)/)
    })

    it('a handler that ignores its signal does not hold the slot past the limit', async () => {
      const board = await openWorkerBoard(await create())
      const stuck = await board.createTask({ title: 'ignores its signal', maxRuntimeMs: 200, maxAttempts: 1, priority: 1 })
      const next = await board.createTask({ title: 'runs after it' })
      const worker = stopAfterTest(board.work({ workerId: 'w-1' }, (task) => (task.id === stuck.id ? new Promise<never>(() => {}) : 'ok')))
      await until('the next task ran in the only slot', async () => (await board.getTask(next.id))!.status === 'done')
      expect((await board.getTask(stuck.id))!.status).toBe('failed')
      expect(worker.running).toBe(0)
    })

    it('aborts a task whose claim was lost (archived while running) and stores nothing of it', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'archived under the worker' })
      const reasons: unknown[] = []
      const worker = stopAfterTest(board.work({ workerId: 'w-1', leaseMs: 1_000, heartbeatMs: 100 }, untilAborted(reasons)))
      const lost = record(worker, 'lost')
      await until('the task is running', async () => (await board.getTask(task.id))!.status === 'running')
      await board.archive(task.id)
      await until('the worker noticed', () => lost.length === 1)
      expect(lost[0]!.event).toEqual({ taskId: task.id, kind: 'claim-lost' })
      expect((reasons[0] as WorkAborted).kind).toBe('claim-lost')
      expect((await board.getTask(task.id))!.status).toBe('archived')
    })

    it('heartbeats a long task so its short lease never runs out', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'long' })
      const worker = stopAfterTest(
        board.work({ workerId: 'w-1', leaseMs: 1_000, heartbeatMs: 150 }, async () => {
          await new Promise((resolve) => setTimeout(resolve, 2_500))
          return 'finished'
        }),
      )
      await until('the task is done', async () => (await board.getTask(task.id))!.status === 'done', 60_000)
      // No one took the claim back in between: one run, completed.
      const runs = await board.db.selectFrom('task_runs').select('outcome').where('task_id', '=', task.id).execute()
      expect(runs).toEqual([{ outcome: 'completed' }])
      expect((await worker.stop()).completed).toBe(1)
      expect(await board.releaseStaleClaims()).toEqual([])
    })
  })
}

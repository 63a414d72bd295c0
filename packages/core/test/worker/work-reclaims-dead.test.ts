import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { openWorkerBoard, record, stopAfterTest, until } from './helpers.js'

// A fleet of board.work processes and no dispatcher: a worker that died holding a task must not hold
// it forever. An idle worker takes expired claims back itself (reclaimEveryMs) and runs them.
for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`board.work recovers dead claims on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('an idle worker takes back a claim whose lease ran out and completes the task (control: with reclaim off it stays running)', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'held by a dead worker' })
      // A claim of a process that is gone (pid 2^31-2 never exists), with a 1 s lease nobody renews.
      await board.claimNext({ workerId: 'dead', pid: 2 ** 31 - 2, leaseMs: 1_000 })
      const expiresAt = (await board.getTask(task.id))!.claimExpiresAt!
      await until('the dead claim expired', () => Date.now() > expiresAt + 50)

      const control = board.work({ workerId: 'no-reclaim', reclaimEveryMs: 0, pollMs: 50 }, () => 'never')
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect((await board.getTask(task.id))!.status).toBe('running')
      await control.stop()

      const worker = stopAfterTest(board.work({ workerId: 'w-1', reclaimEveryMs: 100, pollMs: 50 }, () => 'recovered'))
      const reclaimed = record(worker, 'reclaimed')
      await until('the task is done', async () => (await board.getTask(task.id))!.status === 'done')
      expect(reclaimed[0]!.event.claims.map((claim) => claim.taskId)).toEqual([task.id])
      const runs = await board.db.selectFrom('task_runs').select(['worker_id', 'outcome']).where('task_id', '=', task.id).orderBy('started_at').execute()
      expect(runs).toEqual([{ worker_id: 'dead', outcome: 'expired' }, { worker_id: 'w-1', outcome: 'completed' }])
    })
  })
}

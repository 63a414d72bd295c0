import { describe, expect, it } from 'vitest'
import { boardSubjects } from '../adapters.js'
import { openWorkerBoard, record, stopAfterTest, until } from './helpers.js'

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`board.work on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('runs every task once with its typed meta, stores each result, chains claims into completions, and stops with a summary', async () => {
      const board = await openWorkerBoard(await create())
      const tasks = await board.createTasks(Array.from({ length: 12 }, (_, index) => ({ title: `t${index}`, meta: { n: index } })))
      const handled: string[] = []
      const worker = stopAfterTest(
        board.work<{ n: number }, { doubled: number }>({ workerId: 'w-1', concurrency: 3 }, async (task, { attempt, signal }) => {
          expect(attempt).toBe(1)
          expect(signal.aborted).toBe(false)
          handled.push(task.id)
          await new Promise((resolve) => setTimeout(resolve, 2))
          return { doubled: task.meta.n * 2 }
        }),
      )
      const events = record(worker, 'claimed', 'completed', 'idle')
      await until('every task is done', async () => (await board.listTasks({ status: 'done' })).length === tasks.length)
      const summary = await worker.stop()
      expect(summary).toMatchObject({ workerId: 'w-1', completed: 12, failed: 0, released: 0, lost: 0 })
      expect(await worker.stopped).toBe(summary)
      expect(new Set(handled).size).toBe(12)
      expect(handled).toHaveLength(12)
      for (const task of await board.listTasks()) {
        expect(task.result).toEqual({ doubled: (task.meta['n'] as number) * 2 })
        expect(task.attempts).toBe(1)
      }
      const runs = await board.db.selectFrom('task_runs').select(['task_id', 'outcome', 'worker_id']).execute()
      expect(runs).toHaveLength(12)
      expect(runs.every((run) => run.outcome === 'completed' && run.worker_id === 'w-1')).toBe(true)
      // While work was ready, a completion claimed the next task in its own commit.
      expect(events.some(({ type, event }) => type === 'claimed' && (event as { chained: boolean }).chained)).toBe(true)
      expect(events.filter(({ type }) => type === 'completed')).toHaveLength(12)
    })

    it('refuses bad options before it claims anything, naming the field', async () => {
      const board = await openWorkerBoard(await create())
      await board.createTask({ title: 'untouched' })
      expect(() => board.work({ concurrency: 0 }, () => undefined)).toThrow(/options\.concurrency/)
      expect(() => board.work({ leaseMs: 10 }, () => undefined)).toThrow(/options\.leaseMs/)
      expect(() => board.work({ retry: { baseMs: -1 } }, () => undefined)).toThrow(/options\.retry\.baseMs/)
      expect(() => board.work({}, 'not a function' as never)).toThrow(/handler must be a function/)
      expect(() => board.work({ leaseMs: 3_000, heartbeatMs: 3_000 }, () => undefined)).toThrow(/options\.heartbeatMs/)
      expect((await board.listTasks())[0]!.status).toBe('ready')
      const worker = board.work({ workerId: 'w-stop' }, () => undefined)
      await expect(worker.stop({ timeoutMs: 30 * 24 * 3_600_000 })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      await worker.stop({ timeoutMs: 0 })
    })

    it('fails an attempt whose result the board refuses (over 1 MiB), never leaving its claim to the lease', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'huge result' })
      // A result over 1 MiB is refused by complete: the attempt fails (counted), the claim does not linger.
      const worker = stopAfterTest(board.work({ workerId: 'w-1', retry: { baseMs: 3_600_000, jitter: false } }, () => 'x'.repeat(2 * 1024 * 1024)))
      // One read: two reads could see 'ready' before the claim and attempts 1 after it, mid-attempt.
      await until('the attempt failed', async () => {
        const read = (await board.getTask(task.id))!
        return read.status !== 'running' && read.attempts === 1
      })
      expect(await board.getTask(task.id)).toMatchObject({ status: 'ready', consecutiveFailures: 1, claimedBy: null })
      expect((await board.getTask(task.id))!.lastError).toMatch(/result/)
      await worker.stop()
    })
  })
}

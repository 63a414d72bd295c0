import { describe, expect, it } from 'vitest'
import { RateLimited } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { openWorkerBoard, record, stopAfterTest, until } from './helpers.js'

const other = { workerId: 'another-process', leaseMs: 60_000 } as const

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`board.work retries on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('fails a throwing task with its error and a backoff every claimer respects, then succeeds on the retry', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'flaky', maxAttempts: 3 })
      let calls = 0
      const worker = stopAfterTest(
        board.work({ workerId: 'w-1', retry: { baseMs: 1_500, jitter: false } }, async () => {
          calls += 1
          if (calls === 1) throw new TypeError('the first try breaks')
          return 'second try'
        }),
      )
      const failures = record(worker, 'failed')
      await until('the first attempt failed', () => failures.length === 1)
      const failed = (await board.getTask(task.id))!
      expect(failed.status).toBe('ready')
      expect(failed.lastError).toMatch(/^TypeError: the first try breaks/)
      expect(failed.consecutiveFailures).toBe(1)
      expect(failed.notBefore).not.toBeNull()
      expect(failures[0]!.event).toMatchObject({ retryAfterMs: 1_500, rateLimited: false, timedOut: false })
      // Another process's claimer does not get the task while its backoff runs.
      expect(await board.claimNext(other)).toBeUndefined()
      await until('the retry completed it', async () => (await board.getTask(task.id))!.status === 'done')
      const done = (await board.getTask(task.id))!
      expect(done).toMatchObject({ result: 'second try', attempts: 2, consecutiveFailures: 0, notBefore: null })
      expect(calls).toBe(2)
      const retried = await board.events({ taskId: task.id })
      expect(retried.find((event) => event.kind === 'retried')!.payload).toMatchObject({ error: expect.stringMatching(/the first try breaks/), notBefore: expect.any(Number) })
    })

    it('control: without a backoff the failed task is claimable at once by anyone', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'fails once' })
      const claim = (await board.claimNext({ workerId: 'w-1', leaseMs: 60_000 }))!
      await board.fail(task.id, claim.claimToken, 'broke')
      expect((await board.claimNext(other))?.id).toBe(task.id)
    })

    it('requeues a RateLimited task after its cooldown without counting a failure or an attempt', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'rate limited', maxAttempts: 1 })
      let calls = 0
      const worker = stopAfterTest(
        board.work({ workerId: 'w-1' }, () => {
          calls += 1
          if (calls === 1) throw new RateLimited('429 from the model API', { retryAfterMs: 1_000 })
          return 'later'
        }),
      )
      const failures = record(worker, 'failed')
      await until('the rate limit was recorded', () => failures.length === 1)
      expect(failures[0]!.event).toMatchObject({ rateLimited: true, retryAfterMs: 1_000 })
      const waiting = (await board.getTask(task.id))!
      expect(waiting).toMatchObject({ status: 'ready', attempts: 0, consecutiveFailures: 0 })
      expect(await board.claimNext(other)).toBeUndefined()
      // maxAttempts 1: a counted failure would have failed it for good.
      await until('the task ran again after the cooldown', async () => (await board.getTask(task.id))!.status === 'done')
      expect((await board.getTask(task.id))!.attempts).toBe(1)
    })

    it('gives up like any failure once retries are used (the backoff never hides a failed task)', async () => {
      const board = await openWorkerBoard(await create())
      const task = await board.createTask({ title: 'always broken', maxAttempts: 2 })
      const worker = stopAfterTest(board.work({ workerId: 'w-1', retry: { baseMs: 0 } }, () => Promise.reject(new Error('no'))))
      await until('the task failed for good', async () => (await board.getTask(task.id))!.status === 'failed')
      const failed = (await board.getTask(task.id))!
      expect(failed).toMatchObject({ attempts: 2, notBefore: null })
      expect((await worker.stop()).failed).toBe(2)
    })
  })
}

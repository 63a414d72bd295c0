import { describe, expect, it } from 'vitest'
import type { Board } from '@kanban-db/core'
import { boardSubjects, bundledAdapters } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from '../board/helpers.js'
import { controlDidNotReproduce, openSharedBoard, sharesFiles, startChildren } from './helpers.js'

/** Every call bound to an attempt, made with `token`. */
function attemptCalls(board: Board, taskId: string, token: string): Array<[string, () => Promise<unknown>]> {
  return [
    ['heartbeat', () => board.heartbeat(taskId, token)],
    ['complete', () => board.complete(taskId, token, 'late')],
    ['fail', () => board.fail(taskId, token, 'late')],
    ['fail (rate limited)', () => board.fail(taskId, token, 'late', { rateLimited: true })],
    ['fail (spawn)', () => board.fail(taskId, token, 'late', { kind: 'spawn' })],
    ['block', () => board.block(taskId, 'late', { claimToken: token, kind: 'needs-input' })],
    ['requestReview', () => board.requestReview(taskId, token, { summary: 'late' })],
    ['completeAndClaimNext', () => board.completeAndClaimNext(taskId, token, 'late', worker)],
  ]
}

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`attempt guard on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('control: a write bound only to the task id (no claim token) changes the newer attempt', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      await board.claimNext({ ...worker, workerId: 'old', leaseMs: 1000 })
      clock.advance(1000)
      await board.releaseStaleClaims()
      const newer = (await board.claimNext({ ...worker, workerId: 'new' }))!
      // The unguarded completion the old worker would make if the board knew only the task id.
      const changed = await board.writeTxn((trx) =>
        trx.updateTable('tasks').set({ status: 'done', result: '"late"' }).where('id', '=', task.id).where('status', '=', 'running').executeTakeFirst(),
      )
      if (Number(changed.numUpdatedRows) !== 1) controlDidNotReproduce('the unguarded write did not change the newer attempt')
      expect((await board.getTask(task.id))!.status).toBe('done')
      expect(newer.claimToken).toBeTruthy()
    })

    it('a stale attempt can change nothing of a newer attempt across a reclaim, even with the right task id', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const old = (await board.claimNext({ ...worker, workerId: 'old', leaseMs: 1000 }))!
      clock.advance(1000)
      expect(await board.releaseStaleClaims()).toEqual([{ taskId: task.id, runId: old.runId, status: 'ready' }])
      const newer = (await board.claimNext({ ...worker, workerId: 'new' }))!
      expect(newer.id).toBe(task.id)
      expect(newer.runId).not.toBe(old.runId)
      for (const [call, run] of attemptCalls(board, task.id, old.claimToken)) {
        const refused = await expectRefused(board, 'CLAIM_MISMATCH', run)
        expect(refused.message, call).toContain('stale')
      }
      // A token of another task never works on this one either.
      const other = await board.createTask({ title: 'other' })
      const otherClaim = (await board.claimNext({ ...worker, workerId: 'other' }))!
      expect(otherClaim.id).toBe(other.id)
      for (const [, run] of attemptCalls(board, task.id, otherClaim.claimToken)) await expectRefused(board, 'CLAIM_MISMATCH', run)
      // The newer attempt is whole: still running under its own claim, and it can finish.
      expect(await board.getTask(task.id)).toMatchObject({ status: 'running', claimedBy: 'new', currentRunId: newer.runId })
      expect(await board.complete(task.id, newer.claimToken, 'ok')).toMatchObject({ status: 'done', result: 'ok' })
      const runs = await board.db.selectFrom('task_runs').select(['id', 'outcome']).where('task_id', '=', task.id).orderBy('attempt').execute()
      expect(runs).toEqual([
        { id: old.runId, outcome: 'expired' },
        { id: newer.runId, outcome: 'completed' },
      ])
    })

    it('a stale reviewer cannot approve or reject after its review lease was reclaimed', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const work = (await board.claimNext({ ...worker, workerId: 'author' }))!
      await board.requestReview(task.id, work.claimToken, { summary: 'done' })
      const oldReview = (await board.claimNext({ ...worker, workerId: 'reviewer-1', role: 'review', leaseMs: 1000 }))!
      clock.advance(1000)
      expect(await board.releaseStaleClaims()).toEqual([{ taskId: task.id, runId: oldReview.runId, status: 'review' }])
      const newReview = (await board.claimNext({ ...worker, workerId: 'reviewer-2', role: 'review' }))!
      expect(newReview.id).toBe(task.id)
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.approve(task.id, oldReview.claimToken))
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.reject(task.id, oldReview.claimToken, 'late'))
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.heartbeat(task.id, oldReview.claimToken))
      // The worker's own token from the work attempt does not make it a reviewer.
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.approve(task.id, work.claimToken))
      expect(await board.approve(task.id, newReview.claimToken)).toMatchObject({ status: 'done' })
    })
  })
}

for (const { name, create } of bundledAdapters.filter((adapter) => sharesFiles(adapter.name))) {
  describe(`attempt guard across processes on ${name}`, () => {
    it('a worker process whose claim was reclaimed by another process cannot touch the new attempt', async () => {
      const adapter = await create()
      const { board, path } = await openSharedBoard(adapter)
      const [child] = await startChildren(1, adapter, path)
      try {
        const task = await board.createTask({ title: 'shared' })
        child!.send({ type: 'claim', workerId: 'child' })
        const old = (await child!.next('claimed')).task as { id: string; claimToken: string; runId: string }
        expect(old.id).toBe(task.id)
        // The child's lease (60 s) is over as far as the dispatcher is concerned: reclaim, claim anew.
        const released = await board.releaseStaleClaims(Date.now() + 120_000)
        expect(released).toEqual([{ taskId: task.id, runId: old.runId, status: 'ready' }])
        const newer = (await board.claimNext({ workerId: 'parent', pid: process.pid, host: 'test-host', leaseMs: 600_000 }))!
        expect(newer.id).toBe(task.id)
        const before = await board.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow()
        child!.send({ type: 'stale', taskId: task.id, claimToken: old.claimToken })
        const result = await child!.next('stale-result')
        expect(result.codes).toEqual(Array.from({ length: 7 }, () => 'CLAIM_MISMATCH'))
        expect(result.stale).toEqual(Array.from({ length: 7 }, () => true))
        expect(await board.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow()).toEqual(before)
        expect(await board.complete(task.id, newer.claimToken, 'parent')).toMatchObject({ status: 'done', result: 'parent' })
      } finally {
        await child!.reap()
        await board.close()
      }
    })
  })
}

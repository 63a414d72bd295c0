import { describe, expect, it } from 'vitest'
import { CRASH_GRACE_ENV } from '@kanban-db/core/internal'
import { boardSubjects } from '../adapters.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`reclaiming claims on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('releases expired leases to ready (or failed past max attempts) and closes their runs as expired', async () => {
      const { board, clock } = await openTestBoard(await create())
      const retried = await board.createTask({ title: 'retried', maxAttempts: 2, priority: 2 })
      const lastTry = await board.createTask({ title: 'last try', maxAttempts: 1, priority: 1 })
      const fresh = await board.createTask({ title: 'fresh' })
      const a = (await board.claimNext({ ...worker, leaseMs: 1000 }))!
      const b = (await board.claimNext({ ...worker, leaseMs: 1000 }))!
      const c = (await board.claimNext({ ...worker, leaseMs: 5000 }))!
      expect([a.id, b.id, c.id]).toEqual([retried.id, lastTry.id, fresh.id])
      expect(await board.releaseStaleClaims(clock.now + 999)).toEqual([])
      clock.advance(1000)
      const released = await board.releaseStaleClaims()
      expect(released).toHaveLength(2)
      expect(released).toEqual(expect.arrayContaining([
        { taskId: retried.id, runId: a.runId, status: 'ready' },
        { taskId: lastTry.id, runId: b.runId, status: 'failed' },
      ]))
      expect((await board.getTask(retried.id))!).toMatchObject({ status: 'ready', claimedBy: null, lastError: expect.stringContaining('expired') })
      expect((await board.getTask(lastTry.id))!.status).toBe('failed')
      expect((await board.getTask(fresh.id))!.status).toBe('running')
      const runs = await board.db.selectFrom('task_runs').select(['id', 'outcome']).where('outcome', '=', 'expired').execute()
      expect(runs.map((run) => run.id).sort()).toEqual([a.runId, b.runId].sort())
      const kinds = (await board.events()).filter((event) => event.kind === 'expired').map((event) => event.toStatus)
      expect(kinds.sort()).toEqual(['failed', 'ready'])
      // A heartbeat keeps a claim alive past its first expiry.
      clock.advance(3000)
      await board.heartbeat(fresh.id, c.claimToken)
      clock.advance(3000)
      expect(await board.releaseStaleClaims()).toEqual([])
    })

    it('reclaims running tasks of this host whose worker is gone, after the grace period only', async () => {
      const { board, clock } = await openTestBoard(await create())
      await board.createTask({ title: 'dead old', priority: 3 })
      await board.createTask({ title: 'alive', priority: 2 })
      await board.createTask({ title: 'other host', priority: 1 })
      const deadOld = (await board.claimNext({ ...worker, pid: 1001 }))!
      const alive = (await board.claimNext({ ...worker, pid: 1002 }))!
      const otherHost = (await board.claimNext({ ...worker, pid: 1001, host: 'host-b' }))!
      clock.advance(10_000)
      await board.createTask({ title: 'dead young' })
      const deadYoung = (await board.claimNext({ ...worker, pid: 1003 }))!
      const asked: number[] = []
      const isAlive = (pid: number): boolean => {
        asked.push(pid)
        return pid === 1002
      }
      const released = await board.detectCrashedWorkers({ isAlive, graceMs: 5000, host: 'host-a' })
      expect(released).toEqual([{ taskId: deadOld.id, runId: deadOld.runId, status: 'ready' }])
      expect(asked.sort()).toEqual([1001, 1002])
      expect((await board.getTask(deadYoung.id))!.status).toBe('running')
      expect((await board.getTask(alive.id))!.status).toBe('running')
      expect((await board.getTask(otherHost.id))!.status).toBe('running')
      const run = await board.db.selectFrom('task_runs').selectAll().where('id', '=', deadOld.runId).executeTakeFirstOrThrow()
      expect(run.outcome).toBe('crashed')
      expect((await board.events()).at(-1)).toMatchObject({ kind: 'crashed', taskId: deadOld.id, toStatus: 'ready' })
      // The crashed worker's token no longer works.
      await expectRefused(board, 'CLAIM_MISMATCH', () => board.complete(deadOld.id, deadOld.claimToken))
    })

    it(`takes the grace period from ${CRASH_GRACE_ENV}, else 30 s`, async () => {
      const { board, clock } = await openTestBoard(await create())
      await board.createTask({ title: 't' })
      const claim = (await board.claimNext({ ...worker, host: 'h' }))!
      const saved = process.env[CRASH_GRACE_ENV]
      try {
        delete process.env[CRASH_GRACE_ENV]
        clock.advance(29_999)
        expect(await board.detectCrashedWorkers({ isAlive: () => false, host: 'h' })).toEqual([])
        process.env[CRASH_GRACE_ENV] = '1000'
        expect(await board.detectCrashedWorkers({ isAlive: () => false, host: 'h' })).toEqual([{ taskId: claim.id, runId: claim.runId, status: 'ready' }])
      } finally {
        if (saved === undefined) delete process.env[CRASH_GRACE_ENV]
        else process.env[CRASH_GRACE_ENV] = saved
      }
    })

    it('skips a claim that changed between the liveness check and the write', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const claim = (await board.claimNext({ ...worker, host: 'h' }))!
      clock.advance(60_000)
      const released = await board.detectCrashedWorkers({
        host: 'h',
        graceMs: 0,
        // While the dispatcher asks, the worker completes its task.
        isAlive: async () => {
          await board.complete(task.id, claim.claimToken)
          return false
        },
      })
      expect(released).toEqual([])
      expect((await board.getTask(task.id))!.status).toBe('done')
    })
  })
}

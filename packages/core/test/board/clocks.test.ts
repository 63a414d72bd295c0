import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { CLOCK_AHEAD_TOLERANCE_MS, openBoard } from '@kanban-db/core'
import { boardSubjects } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { expectRefused, openTestBoard, worker } from './helpers.js'

const HOUR = 60 * 60 * 1000
const LEASE = 60_000
const GUARDS_ENV = 'KANBAN_DB_CLOCK_GUARDS'

/** Opens the test board with the clock guards turned off (the control: the board as it was). */
async function withoutGuards<T>(open: () => Promise<T>): Promise<T> {
  process.env[GUARDS_ENV] = 'off'
  try {
    return await open()
  } finally {
    delete process.env[GUARDS_ENV]
  }
}

for (const { name, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`clocks on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    /** A live claim heartbeated by a worker whose clock then jumps back an hour, and an honest reclaimer a second later. */
    async function heartbeatFromAnHourBack(guards: boolean) {
      const { board, clock } = guards ? await openTestBoard(await create()) : await withoutGuards(async () => openTestBoard(await create()))
      const task = await board.createTask({ title: 'long work' })
      const claim = (await board.claimNext({ ...worker, leaseMs: LEASE }))!
      const start = clock.now
      clock.now = start - HOUR
      const beat = await board.heartbeat(task.id, claim.claimToken)
      clock.now = start + 1000
      const released = await board.releaseStaleClaims()
      return { beat, released, expiresAt: claim.claimExpiresAt!, status: (await board.getTask(task.id))!.status }
    }

    it('a heartbeat never moves a lease expiry back (control: without the guard, a clock an hour back moves it into the past and an honest reclaimer steals the live task)', async () => {
      const control = await heartbeatFromAnHourBack(false)
      if (!(control.beat.claimExpiresAt! < control.expiresAt) || control.status !== 'ready') {
        throw new Error(`control did not reproduce the hazard: expiry ${control.beat.claimExpiresAt} (was ${control.expiresAt}), task ${control.status}`)
      }
      const guarded = await heartbeatFromAnHourBack(true)
      expect(guarded.beat.claimExpiresAt).toBe(guarded.expiresAt)
      expect(guarded.released).toEqual([])
      expect(guarded.status).toBe('running')
    })

    it('a heartbeat with a later expiry still extends, and a heartbeat with a shorter lease keeps the later expiry', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const claim = (await board.claimNext({ ...worker, leaseMs: LEASE }))!
      clock.advance(10_000)
      expect((await board.heartbeat(task.id, claim.claimToken)).claimExpiresAt).toBe(clock.now + LEASE)
      const kept = clock.now + LEASE
      expect((await board.heartbeat(task.id, claim.claimToken, { leaseMs: 1000 })).claimExpiresAt).toBe(kept)
    })

    /**
     * Two claims of a minute: one whose worker heartbeats every 20 s, one whose worker died. A
     * reclaimer whose clock runs an hour ahead calls releaseStaleClaims, then again a lease later.
     */
    async function reclaimerAnHourAhead(guards: boolean) {
      const { board, clock } = guards ? await openTestBoard(await create()) : await withoutGuards(async () => openTestBoard(await create()))
      const live = await board.createTask({ title: 'live', priority: 2 })
      const dead = await board.createTask({ title: 'dead', priority: 1 })
      const liveClaim = (await board.claimNext({ ...worker, leaseMs: LEASE }))!
      const deadClaim = (await board.claimNext({ ...worker, workerId: 'worker-2', leaseMs: LEASE }))!
      expect([liveClaim.id, deadClaim.id]).toEqual([live.id, dead.id])
      const start = clock.now
      const heartbeatAt = async (at: number) => {
        clock.now = at
        await board.heartbeat(live.id, liveClaim.claimToken)
      }
      await heartbeatAt(start + 20_000)
      await heartbeatAt(start + 40_000)
      clock.now = start + 40_000 + HOUR
      const first = await board.releaseStaleClaims()
      const health = await board.health()
      // The control stops here: the live claim is gone.
      if (!guards) return { board, live, dead, first, second: [], health, healthAfter: health, deadClaim }
      await heartbeatAt(start + 60_000)
      await heartbeatAt(start + 80_000)
      clock.now = start + 40_000 + HOUR + LEASE + 1000
      const second = await board.releaseStaleClaims()
      clock.now = start + 81_000
      const healthAfter = await board.health()
      return { board, live, dead, first, second, health, healthAfter, deadClaim }
    }

    it('a reclaimer whose clock runs an hour ahead takes back no live lease; a dead one goes back a lease later (control: without the guard it steals both at once)', async () => {
      const control = await reclaimerAnHourAhead(false)
      if (!control.first.some((claim) => claim.taskId === control.live.id)) {
        throw new Error(`control did not reproduce the hazard: a clock an hour ahead released ${JSON.stringify(control.first)}`)
      }
      expect(control.health.clockSkew).toBeNull()

      const run = await reclaimerAnHourAhead(true)
      expect(run.first).toEqual([])
      expect(run.health.clockSkew).toEqual({ aheadMs: HOUR, latestRecordedAt: expect.any(Number), toleranceMs: CLOCK_AHEAD_TOLERANCE_MS, unwitnessedClaims: 2 })
      // A lease later (by the reclaimer's clock): the live claim heartbeated meanwhile and stays; the dead one goes back.
      expect(run.second).toEqual([{ taskId: run.dead.id, runId: run.deadClaim.runId, status: 'ready' }])
      expect((await run.board.getTask(run.live.id))!.status).toBe('running')
      expect(run.healthAfter.clockSkew).toBeNull()
    })

    it('on a board quiet for longer than the tolerance, a claim only this clock says expired goes back one lease later, not at once', async () => {
      const { board, clock } = await openTestBoard(await create())
      await board.createTask({ title: 'dead' })
      const dead = (await board.claimNext({ ...worker, leaseMs: LEASE }))!
      clock.advance(HOUR)
      expect(await board.releaseStaleClaims()).toEqual([])
      expect((await board.health()).clockSkew).toMatchObject({ aheadMs: HOUR, unwitnessedClaims: 1 })
      clock.advance(LEASE - 1)
      expect(await board.releaseStaleClaims()).toEqual([])
      clock.advance(1)
      expect(await board.releaseStaleClaims()).toEqual([{ taskId: dead.id, runId: dead.runId, status: 'ready' }])
      expect((await board.health()).clockSkew).toBeNull()
    })

    it('an expiry the board has recorded a time past is taken back at once, even by a clock far ahead', async () => {
      const { board, clock } = await openTestBoard(await create())
      await board.createTask({ title: 'dead' })
      const dead = (await board.claimNext({ ...worker, leaseMs: LEASE }))!
      clock.advance(2 * LEASE)
      await board.createTask({ title: 'written after the expiry' })
      clock.advance(HOUR)
      expect(await board.releaseStaleClaims()).toEqual([{ taskId: dead.id, runId: dead.runId, status: 'ready' }])
    })

    it('an explicit now is taken as given (an operator declaring every lease before it over)', async () => {
      const { board, clock } = await openTestBoard(await create())
      await board.createTask({ title: 'live' })
      const live = (await board.claimNext({ ...worker, leaseMs: LEASE }))!
      expect(await board.releaseStaleClaims(clock.now + HOUR)).toEqual([{ taskId: live.id, runId: live.runId, status: 'ready' }])
    })

    it('refuses a clock that does not return whole milliseconds >= 0, at open and on use, writing nothing', async () => {
      for (const reading of [1.5, -1, '1700000000000', Number.NaN, Number.POSITIVE_INFINITY, undefined]) {
        await expect(openTestBoard(await create(), { clock: () => reading as number })).rejects.toMatchObject({
          code: 'INVALID_INPUT',
          message: expect.stringMatching(/options\.clock.*whole number of milliseconds/),
        })
      }
      await expect(openTestBoard(await create(), { clock: 'now' as never })).rejects.toMatchObject({ code: 'INVALID_INPUT' })
      await expect(
        openTestBoard(await create(), {
          clock: () => {
            throw new Error('no time')
          },
        }),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining('no time') })

      let reading: unknown = 1_700_000_000_000
      const { board } = await openTestBoard(await create(), { clock: () => reading as number })
      const task = await board.createTask({ title: 't' })
      reading = '1700000000001'
      const refused = await expectRefused(board, 'INVALID_INPUT', () => board.createTask({ title: 'u' }))
      expect(refused.message).toContain('Nothing was written')
      reading = 1_700_000_000_000.5
      await expectRefused(board, 'INVALID_INPUT', () => board.claimNext(worker))
      reading = 1_700_000_000_002
      expect((await board.getTask(task.id))!.id).toBe(task.id)
    })
  })
}

describe('clocks on SQLite: two processes on one file', () => {
  it('a second board on the file whose clock runs an hour ahead takes back no live lease (control: guards off, it steals it)', async () => {
    const adapter = await createBetterSqlite3()
    const path = join(tempDir(), 'board.db')
    const honest = await openBoard({ path, adapter })
    try {
      const task = await honest.createTask({ title: 'long work' })
      const claim = (await honest.claimNext({ ...worker, leaseMs: LEASE }))!
      await honest.heartbeat(task.id, claim.claimToken)
      const ahead = async (): Promise<string[]> => {
        const board = await openBoard({ path, adapter, clock: () => Date.now() + HOUR })
        try {
          return (await board.releaseStaleClaims()).map((released) => released.taskId)
        } finally {
          await board.close()
        }
      }
      expect(await ahead()).toEqual([])
      expect((await honest.getTask(task.id))!.status).toBe('running')
      const stolen = await withoutGuards(ahead)
      if (!stolen.includes(task.id)) throw new Error('control did not reproduce the hazard: a clock an hour ahead did not steal the live lease')
    } finally {
      await honest.close()
    }
  })
})

import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openBoard } from '@kanban-db/core'
import { migrations } from '@kanban-db/core/internal'
import { boardSubjects, bundledAdapters } from '../adapters.js'
import { openTestBoard, worker } from '../board/helpers.js'
import { tempDir } from '../temp-dir.js'
import { controlDidNotReproduce, sharesFiles } from './helpers.js'

for (const { name, engine, create, skip } of boardSubjects) {
  describe.skipIf(skip !== undefined)(`stale claims of live workers on ${name}${skip ? ` (skip: ${skip})` : ''}`, () => {
    it('control: without a liveness check the expired claim of a live, heartbeating worker is stolen', async () => {
      const { board, clock } = await openTestBoard(await create())
      const task = await board.createTask({ title: 't' })
      const claim = (await board.claimNext({ ...worker, leaseMs: 1000 }))!
      clock.advance(900)
      await board.heartbeat(task.id, claim.claimToken)
      clock.advance(1000)
      const released = await board.releaseStaleClaims()
      if (released.length !== 1) controlDidNotReproduce('the expired claim was not taken back')
      expect((await board.getTask(task.id))!.status).toBe('ready')
    })

    it('an expired claim whose worker is alive on this host and heartbeated recently is extended, not stolen; others are released', async () => {
      const { board, clock } = await openTestBoard(await create())
      const live = await board.createTask({ title: 'live', priority: 3 })
      const silent = await board.createTask({ title: 'never heartbeated', priority: 2 })
      const dead = await board.createTask({ title: 'dead', priority: 1 })
      const liveClaim = (await board.claimNext({ ...worker, pid: 101, leaseMs: 1000 }))!
      await board.claimNext({ ...worker, pid: 102, leaseMs: 1000 })
      const deadClaim = (await board.claimNext({ ...worker, pid: 103, leaseMs: 1000 }))!
      clock.advance(900)
      await board.heartbeat(live.id, liveClaim.claimToken)
      await board.heartbeat(dead.id, deadClaim.claimToken)
      clock.advance(1000)
      const asked: number[] = []
      const released = await board.releaseStaleClaims(undefined, {
        host: worker.host,
        isAlive: (pid) => {
          asked.push(pid)
          return pid !== 103
        },
      })
      expect(asked.sort()).toEqual([101, 103])
      expect(released.map((claim) => claim.taskId).sort()).toEqual([silent.id, dead.id].sort())
      expect(await board.getTask(live.id)).toMatchObject({ status: 'running', claimExpiresAt: clock.now + 1000 })
      expect((await board.events({ taskId: live.id })).at(-1)).toMatchObject({ kind: 'extended', fromStatus: 'running', toStatus: 'running' })
      // The extended worker carries on with its own claim.
      expect(await board.complete(live.id, liveClaim.claimToken)).toMatchObject({ status: 'done' })
    })
  })
}

for (const { name, create } of bundledAdapters.filter((adapter) => sharesFiles(adapter.name))) {
  describe(`read-only opens on ${name}`, () => {
    it('never create, initialise, migrate or write: a missing board, an older schema and reads leave every byte as it was', async () => {
      const adapter = await create()
      const dir = tempDir()
      const missing = join(dir, 'missing.db')
      await expect(openBoard({ path: missing, adapter, readonly: true })).rejects.toMatchObject({ code: 'BOARD_NOT_FOUND' })
      expect(existsSync(missing)).toBe(false)

      // A board at schema version 1 (as an older kanban-db left it).
      const old = join(dir, 'v1.db')
      const raw = await adapter.open(old)
      raw.exec('BEGIN IMMEDIATE')
      raw.exec(migrations[0]!.sql)
      raw.exec('PRAGMA user_version = 1')
      raw.exec('COMMIT')
      raw.close()
      const hash = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')
      const before = hash(old)
      const refused = openBoard({ path: old, adapter, readonly: true })
      await expect(refused).rejects.toMatchObject({ code: 'SCHEMA_MISMATCH' })
      await expect(refused).rejects.toThrow(/open it once without readonly/)
      expect(hash(old)).toBe(before)

      // A current board: reads work and leave the file unchanged; writes fail clearly.
      const current = join(dir, 'board.db')
      const writer = await openBoard({ path: current, adapter })
      const task = await writer.createTask({ title: 't' })
      await writer.close()
      const settled = hash(current)
      const reader = await openBoard({ path: current, adapter, readonly: true })
      try {
        expect(await reader.getTask(task.id)).toMatchObject({ title: 't' })
        expect(await reader.claimNext(worker).catch((error: { code: string }) => error.code)).toBe('READ_ONLY_BOARD')
        await expect(reader.subscribe('n')).rejects.toMatchObject({ code: 'READ_ONLY_BOARD' })
      } finally {
        await reader.close()
      }
      expect(hash(current)).toBe(settled)
    })
  })
}

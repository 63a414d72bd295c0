import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { openBoard, type Board } from '@kanban-db/core'
import { postgres } from '../src/index.js'
import { describeServer, freshSchema, serverUrl } from './server.js'

const run = promisify(execFile)
const WORKER = fileURLToPath(new URL('./fixtures/skewed-clock-worker.mjs', import.meta.url))
const HOUR = 60 * 60 * 1000
const LEASE = 10 * 60 * 1000

/**
 * Runs the skewed-clock worker in a child process (it loads the built packages, as a deployment does).
 * With `localClock` (the control) the board trusts the child's clock, with core's clock guards off
 * (`KANBAN_DB_CLOCK_GUARDS=off`), as a board did before the guards.
 */
async function skewedWorker<T>(args: Record<string, unknown>): Promise<T> {
  const env = args['localClock'] === true ? { ...process.env, KANBAN_DB_CLOCK_GUARDS: 'off' } : process.env
  const { stdout } = await run(process.execPath, [WORKER, JSON.stringify({ url: serverUrl(), ...args })], { cwd: fileURLToPath(new URL('..', import.meta.url)), env })
  return JSON.parse(stdout) as T
}

async function boardWithLiveClaim(schema: string): Promise<{ board: Board; taskId: string; claimToken: string; expiresAt: number }> {
  const board = await openBoard({ engine: postgres({ connectionString: serverUrl(), schema, poolSize: 2 }) })
  const task = await board.createTask({ title: 'long work' })
  const claim = (await board.claimNext({ workerId: 'honest', leaseMs: LEASE }))!
  expect(claim.id).toBe(task.id)
  return { board, taskId: task.id, claimToken: claim.claimToken, expiresAt: claim.claimExpiresAt! }
}

describeServer('postgres board: leases run on the server clock', () => {
  it('a reclaimer whose clock runs an hour ahead takes back no live lease (control: trusting its clock, it steals it)', async () => {
    // Control: the same reclaimer, its board told to use the process clock, steals the live claim.
    const controlSchema = freshSchema()
    const control = await boardWithLiveClaim(controlSchema)
    try {
      const stolen = await skewedWorker<{ released: string[] }>({ schema: controlSchema, skewMs: HOUR, localClock: true, action: 'reclaim' })
      if (!stolen.released.includes(control.taskId)) throw new Error('control did not reproduce the hazard: a client clock an hour ahead did not steal the live lease')
      expect((await control.board.getTask(control.taskId))!.status).toBe('ready')
    } finally {
      await control.board.close()
    }

    const schema = freshSchema()
    const { board, taskId, claimToken } = await boardWithLiveClaim(schema)
    try {
      const result = await skewedWorker<{ released: string[] }>({ schema, skewMs: HOUR, localClock: false, action: 'reclaim' })
      expect(result.released).toEqual([])
      const task = (await board.getTask(taskId))!
      expect(task.status).toBe('running')
      await board.complete(taskId, claimToken, { ok: true })
    } finally {
      await board.close()
    }
  })

  it('a worker whose clock runs an hour behind cannot move its own expiry into the past (control: trusting its clock, it does)', async () => {
    const controlSchema = freshSchema()
    const control = await boardWithLiveClaim(controlSchema)
    try {
      const beat = await skewedWorker<{ claimExpiresAt: number }>({
        schema: controlSchema, skewMs: -HOUR, localClock: true, action: 'heartbeat',
        taskId: control.taskId, claimToken: control.claimToken, leaseMs: LEASE,
      })
      if (!(beat.claimExpiresAt < Date.now())) throw new Error('control did not reproduce the hazard: a heartbeat from a clock an hour behind left the expiry in the future')
      // An honest reclaimer now takes the task from a live worker.
      expect((await control.board.releaseStaleClaims()).map((claim) => claim.taskId)).toEqual([control.taskId])
    } finally {
      await control.board.close()
    }

    const schema = freshSchema()
    const { board, taskId, claimToken, expiresAt } = await boardWithLiveClaim(schema)
    try {
      const beat = await skewedWorker<{ claimExpiresAt: number }>({ schema, skewMs: -HOUR, localClock: false, action: 'heartbeat', taskId, claimToken, leaseMs: LEASE })
      expect(beat.claimExpiresAt).toBeGreaterThanOrEqual(expiresAt)
      expect(await board.releaseStaleClaims()).toEqual([])
      expect((await board.getTask(taskId))!.status).toBe('running')
    } finally {
      await board.close()
    }
  })
})

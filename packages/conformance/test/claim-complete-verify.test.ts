import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import createBetterSqlite3Adapter from '@kanban-db/adapter-better-sqlite3'
import createSqlJsAdapter from '@kanban-db/adapter-sql-js'
import { openBoard, type Board } from '@kanban-db/core'
import { dependenciesOf, taskId, verifyClaimComplete, verifyHeartbeats } from '../src/claim-complete-run.js'
import type { ClaimCompleteProcessResult } from '../src/child-tasks/claim-complete-process.js'
import { claimCompleteWorker, type ClaimCompleteWorkerResult, type HeartbeatReport } from '../src/child-tasks/claim-complete-worker.js'
import type { TaskChannel } from '../src/task-channel.js'

/** The claim-complete invariants must catch what they promise to catch. */
const adapter = await createSqlJsAdapter()
const TASKS = 12
let dir: string | undefined

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
  dir = undefined
})

/** A board whose tasks two workers claimed and completed honestly, and what they reported. */
async function honestRun(): Promise<{ board: Board; ids: string[]; workers: ClaimCompleteWorkerResult[] }> {
  dir = mkdtempSync(join(tmpdir(), 'kanban-verify-'))
  const board = await openBoard({ path: join(dir, 'board.db'), adapter })
  const ids = Array.from({ length: TASKS }, (_, index) => taskId(index + 1))
  await board.createTasks(ids.map((id, index) => ({ id, title: id, dependsOn: dependenciesOf(index + 1).map(taskId) })))
  const workers: ClaimCompleteWorkerResult[] = ['w0', 'w1'].map((workerId) => ({ workerId, claimed: [], completed: [], errors: {}, errorSamples: [] }))
  for (let turn = 0; ; turn++) {
    const worker = workers[turn % 2]!
    const task = await board.claimNext({ workerId: worker.workerId, pid: process.pid, host: 'test', leaseMs: 60_000 })
    if (!task) break
    ;(worker.claimed as string[]).push(task.id)
    await board.complete(task.id, task.claimToken, { workerId: worker.workerId })
    ;(worker.completed as string[]).push(task.id)
  }
  return { board, ids, workers }
}

function asProcess(workers: ClaimCompleteWorkerResult[]): ClaimCompleteProcessResult[] {
  return [{ pid: process.pid, workers, workerFailures: [], fds: { first: 1, min: 1, max: 1, last: 1, samples: 1 } }]
}

describe('verifyClaimComplete', () => {
  it('accepts an honest run', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      await verifyClaimComplete(board, ids, asProcess(workers))
    } finally {
      await board.close()
    }
  })

  it('catches a task that two workers report completing', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      const stolen = workers[0]!.completed[0]!
      const forged = [workers[0]!, { ...workers[1]!, claimed: [...workers[1]!.claimed, stolen], completed: [...workers[1]!.completed, stolen] }]
      await expect(verifyClaimComplete(board, ids, asProcess(forged))).rejects.toThrow(/claimed by w0 and w1/)
    } finally {
      await board.close()
    }
  })

  it('catches a BUSY that surfaced to a worker', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      const busy = [{ ...workers[0]!, errors: { BUSY: 1 }, errorSamples: ['Busy: locked'] }, workers[1]!]
      await expect(verifyClaimComplete(board, ids, asProcess(busy))).rejects.toThrow(/errors surfaced to workers/)
    } finally {
      await board.close()
    }
  })

  it('catches a task that is not done', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      await board.createTask({ id: 'left-over', title: 'never claimed' })
      await expect(verifyClaimComplete(board, ids, asProcess(workers))).rejects.toThrow(/not every task is done/)
    } finally {
      await board.close()
    }
  })

  it('catches a completion the event log does not hold', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      await board.writeTxn((trx) => trx.deleteFrom('events').where('kind', '=', 'completed').where('task_id', '=', ids[3]!).execute())
      await expect(verifyClaimComplete(board, ids, asProcess(workers))).rejects.toThrow(`task ${ids[3]} has events created, claimed`)
    } finally {
      await board.close()
    }
  })
})

/** What a worker that heartbeated on time reports: a few heartbeats, each a little late. */
function onTime(workers: ClaimCompleteWorkerResult[], latenessMs: number[] = [3, 12.5, 40]): ClaimCompleteWorkerResult[] {
  return workers.map((worker) => ({ ...worker, heartbeats: { everyMs: 500, latenessMs, leasesLost: [] } }))
}

function withHeartbeats(worker: ClaimCompleteWorkerResult, change: Partial<HeartbeatReport>): ClaimCompleteWorkerResult {
  return { ...worker, heartbeats: { ...worker.heartbeats!, ...change } }
}

describe('verifyClaimComplete with heartbeats (lease 60 s, bound lease/4 = 15 s)', () => {
  const LEASE = 60_000

  it('accepts heartbeats that all finished within lease/4 of their due time', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      await verifyClaimComplete(board, ids, asProcess(onTime(workers, [0.4, 900, 14_999])), { leaseMs: LEASE, released: [] })
    } finally {
      await board.close()
    }
  })

  it('catches a heartbeat that finished later than lease/4 after it was due', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      const [first, second] = onTime(workers)
      const late = [first!, withHeartbeats(second!, { latenessMs: [5, 15_001, 7] })]
      await expect(verifyClaimComplete(board, ids, asProcess(late), { leaseMs: LEASE })).rejects.toThrow(
        /1 heartbeats finished more than 15000 ms after they were due \(lease 60000 ms\)/,
      )
    } finally {
      await board.close()
    }
  })

  it('takes a bound of its own: a heartbeat within it passes, one past it is caught', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      const [first, second] = onTime(workers)
      const late = [first!, withHeartbeats(second!, { latenessMs: [5, 15_001, 7] })]
      await expect(verifyClaimComplete(board, ids, asProcess(late), { leaseMs: LEASE, latenessBoundMs: 20_000 })).resolves.toBeUndefined()
      await expect(verifyClaimComplete(board, ids, asProcess(late), { leaseMs: LEASE, latenessBoundMs: 15_000 })).rejects.toThrow(
        /1 heartbeats finished more than 15000 ms after they were due/,
      )
    } finally {
      await board.close()
    }
  })

  it('catches a lease that ran out while its worker heartbeated it', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      const [first, second] = onTime(workers)
      const lost = [withHeartbeats(first!, { leasesLost: [{ taskId: ids[0]!, expiredAt: 1_000, seenAt: 1_200, by: 'heartbeat' }] }), second!]
      await expect(verifyClaimComplete(board, ids, asProcess(lost), { leaseMs: LEASE })).rejects.toThrow(/1 leases ran out while their workers heartbeated them/)
    } finally {
      await board.close()
    }
  })

  it('catches a claim the dispatcher released as expired', async () => {
    const { board, ids, workers } = await honestRun()
    try {
      const released = [{ taskId: ids[2]!, runId: 'r_1', status: 'ready' as const }]
      await expect(verifyClaimComplete(board, ids, asProcess(onTime(workers)), { leaseMs: LEASE, released })).rejects.toThrow(
        /the dispatcher released 1 claims as expired/,
      )
    } finally {
      await board.close()
    }
  })

  it('catches a worker that never heartbeated, which would make the bound test nothing', () => {
    const silent = onTime([{ workerId: 'w0', claimed: [], completed: [], errors: {}, errorSamples: [] }], [])
    expect(() => verifyHeartbeats(silent, LEASE, [])).toThrow(/workers that never heartbeated/)
    const unplanned = [{ workerId: 'w1', claimed: [], completed: [], errors: {}, errorSamples: [] }]
    expect(() => verifyHeartbeats(unplanned, LEASE, [])).toThrow(/workers that never heartbeated/)
  })
})

/** A parent that has already said `drain`: the worker runs until nothing is left to do. */
function drainingChannel(): TaskChannel {
  let sent = false
  return {
    send: async () => {},
    receive: () => (sent ? new Promise<never>(() => {}) : ((sent = true), Promise.resolve('drain'))),
  }
}

describe('the claim-complete worker (board.work) notices a lease it lost', () => {
  /**
   * Runs the real worker in this process on a better-sqlite3 board file: 3 tasks, each held
   * 1.5-1.6 s and heartbeated by the handler every 500 ms from its claim. With `reclaim`, another
   * connection takes back the first claim it sees heartbeated while its task is held, as a reclaimer
   * whose clock runs an hour ahead would (`releaseStaleClaims(now + 1 h)`).
   */
  async function runWorker(reclaim: boolean) {
    const betterSqlite3 = await createBetterSqlite3Adapter()
    dir = mkdtempSync(join(tmpdir(), 'kanban-verify-'))
    const path = join(dir, 'board.db')
    const ids = ['a', 'b', 'c']
    const parent = await openBoard({ path, adapter: betterSqlite3 })
    await parent.createTasks(ids.map((id) => ({ id, title: id })))
    const plan = { heartbeatEveryMs: 500, holdMs: [1_500, 1_600] as const, longHoldMs: [1_500, 1_600] as const }
    const board = { engine: 'sqlite', moduleName: '@kanban-db/adapter-better-sqlite3', resolveFrom: process.cwd(), path }
    const running = claimCompleteWorker(betterSqlite3, { board, workerId: 'w0', leaseMs: 60_000, plan }, drainingChannel())
    const released: string[] = []
    if (reclaim) {
      while (released.length === 0) {
        // Once the held task has been heartbeated (so the worker has a heartbeat to report), take it back.
        const held = (await parent.listTasks({ status: ['running'] })).filter((task) => task.heartbeatAt !== null)
        if (held.length > 0) released.push(...(await parent.releaseStaleClaims(Date.now() + 3_600_000)).map((claim) => claim.taskId))
        else await new Promise((resolve) => setTimeout(resolve, 5))
      }
    }
    const result = await running
    return { board: parent, ids, result, released }
  }

  it('control: nobody takes a claim back, the heartbeats keep every claim, and the run verifies', async () => {
    const { board, ids, result } = await runWorker(false)
    try {
      expect(result.heartbeats!.leasesLost).toEqual([])
      expect(result.heartbeats!.latenessMs.length).toBeGreaterThan(0)
      expect(result.claims!.chained).toBeGreaterThan(0)
      await verifyClaimComplete(board, ids, asProcess([result]), { leaseMs: 60_000, released: [] })
    } finally {
      await board.close()
    }
  })

  it('a claim taken back while its task is held is reported lost, and the run fails', async () => {
    const { board, ids, result, released } = await runWorker(true)
    try {
      expect(released.length).toBeGreaterThan(0)
      // The handler's next heartbeat finds the claim gone: board.work aborts the task and reports it
      // lost; the worker then stops (one error stops it), and a claim of its other slot taken back
      // too is reported lost when the stop hands it back.
      const lost = result.heartbeats!.leasesLost
      expect(lost.every((lease) => lease.by === 'claim-lost')).toBe(true)
      expect([...new Set(lost.map((lease) => lease.taskId))].sort()).toEqual([...released].sort())
      expect(result.errors['CLAIM_LOST']).toBeGreaterThan(0)
      await expect(verifyClaimComplete(board, ids, asProcess([result]), { leaseMs: 60_000, released: [] })).rejects.toThrow(/leases ran out/)
    } finally {
      await board.close()
    }
  })
})

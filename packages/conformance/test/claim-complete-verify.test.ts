import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import createSqlJsAdapter from '@kanban-db/adapter-sql-js'
import { openBoard, type Board } from '@kanban-db/core'
import { dependenciesOf, taskId, verifyClaimComplete } from '../src/claim-complete-run.js'
import type { ClaimCompleteProcessResult } from '../src/child-tasks/claim-complete-process.js'
import type { ClaimCompleteWorkerResult } from '../src/child-tasks/claim-complete-worker.js'

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

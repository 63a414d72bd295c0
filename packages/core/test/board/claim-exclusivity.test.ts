import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard, type Board, type SqliteAdapter } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { Child, repositoryRoot } from './children.js'

const WORKER_SCRIPT = new URL('./fixtures/claim-worker.mjs', import.meta.url).href

/** Claims and completes until nothing is ready; returns the claimed ids. */
async function drain(board: Board, workerId: string): Promise<string[]> {
  const claimed: string[] = []
  for (;;) {
    const task = await board.claimNext({ workerId, pid: process.pid, host: 'test-host', leaseMs: 60_000 })
    if (!task) return claimed
    claimed.push(task.id)
    await board.complete(task.id, task.claimToken, { by: workerId })
  }
}

/** Every task done exactly once, by the worker that claimed it, with one run and one claim event. */
async function expectEachClaimedOnce(board: Board, claims: ReadonlyMap<string, readonly string[]>, total: number): Promise<void> {
  const all = [...claims.values()].flat()
  expect(new Set(all).size).toBe(all.length)
  expect(all).toHaveLength(total)
  const tasks = await board.listTasks({ limit: 10_000 })
  expect(tasks.every((task) => task.status === 'done' && task.attempts === 1)).toBe(true)
  for (const [workerId, ids] of claims) {
    for (const id of ids) expect(tasks.find((task) => task.id === id)!.result).toEqual({ by: workerId })
  }
  const runs = await board.db.selectFrom('task_runs').select('task_id').execute()
  expect(new Set(runs.map((run) => run.task_id)).size).toBe(total)
  expect(runs).toHaveLength(total)
  const claimedEvents = (await board.events({ limit: 10_000 })).filter((event) => event.kind === 'claimed')
  expect(claimedEvents).toHaveLength(total)
}

async function seed(adapter: SqliteAdapter, path: string, count: number): Promise<Board> {
  const board = await openBoard({ path, adapter, write: { busyRetryBudgetMs: 50_000 } })
  await board.createTasks(Array.from({ length: count }, (_, index) => ({ title: `task ${index}`, priority: index % 7 })))
  return board
}

for (const { name, create } of bundledAdapters) {
  describe(`claim exclusivity on ${name}`, () => {
    it('never gives one task to two of many concurrent async claimers in one process', async () => {
      const board = await seed(await create(), join(tempDir(), 'board.db'), 60)
      try {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, index) => board.claimNext({ workerId: `w${index}`, pid: process.pid, host: 'h', leaseMs: 60_000 })),
        )
        const claimed = results.filter((task) => task !== undefined)
        expect(claimed).toHaveLength(60)
        expect(new Set(claimed.map((task) => task.id)).size).toBe(60)
        expect(new Set(claimed.map((task) => task.claimToken)).size).toBe(60)
        // Claims go in queue order: each claim's priority is no higher than the one before it.
        const priorities = claimed.map((task) => task.priority)
        expect(priorities).toEqual([...priorities].sort((a, b) => b - a))
        const drainers = await Promise.all(Array.from({ length: 8 }, (_, index) => drain(board, `d${index}`)))
        expect(drainers.flat()).toEqual([])
      } finally {
        await board.close()
      }
    })
  })
}

for (const { name, create } of bundledAdapters) {
  const crossProcess = name !== 'sql.js'
  // sql.js keeps the database in memory (sharedFile = false): other processes cannot share it.
  const skipReason = crossProcess ? '' : ' (skipped: sql.js declares sharedFile = false, its database lives in one process)'
  describe.skipIf(!crossProcess)(`claim exclusivity across processes on ${name}${skipReason}`, () => {
    it('never gives one task to two claimers across 3 child processes and this one', async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const total = 300
      const board = await seed(adapter, path, total)
      const children = [0, 1, 2].map(() => new Child(WORKER_SCRIPT))
      try {
        children.forEach((child, index) =>
          child.send({ type: 'open', path, moduleName: adapter.identity.moduleName, resolveFrom: repositoryRoot, workerId: `child-${index}` }),
        )
        await Promise.all(children.map((child) => child.next('ready')))
        for (const child of children) child.send({ type: 'go' })
        const [own, ...fromChildren] = await Promise.all([drain(board, 'parent'), ...children.map((child) => child.next('done'))])
        const claims = new Map<string, readonly string[]>([['parent', own!]])
        fromChildren.forEach((message, index) => claims.set(`child-${index}`, message.claimed as string[]))
        await expectEachClaimedOnce(board, claims, total)
        if (process.env.KANBAN_DB_PRINT_SHARES) console.log(name, [...claims].map(([who, ids]) => `${who}=${ids.length}`).join(' '))
      } finally {
        await Promise.all(children.map((child) => child.reap()))
        await board.close()
      }
    })
  })
}

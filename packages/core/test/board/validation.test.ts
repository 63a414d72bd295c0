import { describe, expect, it } from 'vitest'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { expectRefused, openTestBoard, worker } from './helpers.js'

describe('input validation at the boundary', () => {
  it('refuses bad input with InvalidInput naming the field, and writes nothing', async () => {
    const { board } = await openTestBoard(await createBetterSqlite3())
    const task = await board.createTask({ title: 't' })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['input.title', () => board.createTask({ title: '' })],
      ['input.title', () => board.createTask({ title: 'x'.repeat(501) })],
      ['input.title', () => board.createTask({ title: 42 as unknown as string })],
      ['input', () => board.createTask(null as never)],
      ['input.priority', () => board.createTask({ title: 't', priority: 1.5 })],
      ['input.priority', () => board.createTask({ title: 't', priority: Number.NaN })],
      ['input.maxAttempts', () => board.createTask({ title: 't', maxAttempts: 0 })],
      ['input.meta', () => board.createTask({ title: 't', meta: [] as never })],
      ['input.meta.when', () => board.createTask({ title: 't', meta: { when: new Date() as never } })],
      ['input.meta.n', () => board.createTask({ title: 't', meta: { n: 10n as never } })],
      ['input.meta.self', () => board.createTask({ title: 't', meta: cyclic as never })],
      ['input.meta', () => board.createTask({ title: 't', meta: { big: 'x'.repeat(70_000) } })],
      ['input.id', () => board.createTask({ id: 'has space', title: 't' })],
      ['input.dependsOn', () => board.createTask({ id: 'me', title: 't', dependsOn: ['me'] })],
      ['input.dependsOn', () => board.createTask({ title: 't', dependsOn: 'x' as never })],
      ['inputs[1].title', () => board.createTasks([{ title: 'ok' }, { title: '' }])],
      ['inputs', () => board.createTasks('x' as never)],
      ['options.workerId', () => board.claimNext({ ...worker, workerId: '' })],
      ['options.pid', () => board.claimNext({ ...worker, pid: -1 })],
      ['options.leaseMs', () => board.claimNext({ ...worker, leaseMs: 0 })],
      ['options.host', () => board.claimNext({ ...worker, host: 7 as never })],
      ['result.f', () => board.complete(task.id, 'token', { f: () => 1 } as never)],
      ['result.x', () => board.complete(task.id, 'token', { x: undefined } as never)],
      ['result[0]', () => board.complete(task.id, 'token', [Number.POSITIVE_INFINITY])],
      ['taskId', () => board.getTask('')],
      ['claimToken', () => board.heartbeat(task.id, '')],
      ['options.leaseMs', () => board.heartbeat(task.id, 'token', { leaseMs: -5 })],
      ['reason', () => board.block(task.id, '')],
      ['filter.status[0]', () => board.listTasks({ status: 'doing' as never })],
      ['filter.limit', () => board.listTasks({ limit: 0 })],
      ['query.afterId', () => board.events({ afterId: -1 })],
      ['options.isAlive', () => board.detectCrashedWorkers({ isAlive: 'yes' as never })],
      ['now', () => board.releaseStaleClaims(Number.NaN)],
    ]
    for (const [field, call] of cases) {
      const error = await expectRefused(board, 'INVALID_INPUT', call)
      expect({ field, got: (error as unknown as { details: { field: string } }).details.field }).toEqual({ field, got: field })
      expect(error.message).toContain('Nothing was written')
    }
  })

  it('refuses a bad crash grace period from the environment', async () => {
    const { board } = await openTestBoard(await createBetterSqlite3())
    const saved = process.env.KANBAN_DB_CRASH_GRACE_MS
    process.env.KANBAN_DB_CRASH_GRACE_MS = 'soon'
    try {
      await expectRefused(board, 'INVALID_INPUT', () => board.detectCrashedWorkers({ isAlive: () => false }))
    } finally {
      if (saved === undefined) delete process.env.KANBAN_DB_CRASH_GRACE_MS
      else process.env.KANBAN_DB_CRASH_GRACE_MS = saved
    }
  })
})

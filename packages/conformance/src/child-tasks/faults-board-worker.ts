import { hostname } from 'node:os'
import { KanbanDbError, openBoard, type Board } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'

/**
 * A board worker under a fault plan: claims and completes every ready task on the board. A step that
 * fails with a transient error (`TRANSIENT_IO`, `DISK_FULL`) is retried; after two failures in a row
 * the board is closed and opened again once per step (the "one reopen" a user is told to try).
 * Any other error ends the task. Returns each completion the board acknowledged, and every error seen.
 *
 * Raw API on purpose, not `board.work`: the case checks what `claimNext` and `complete` themselves
 * throw under EIO (the code, SQLite's code, the cause) and that a caller's retry recovers. On
 * `board.work` the same 4-write EIO burst makes the worker give up a completion after its three
 * tries (about 0.5 s) and leave that task running under its claim until the lease ends (39 of 40
 * done), so the case would fail for a reason of the worker loop, not the write path (reported).
 */
export async function faultsBoardWorker(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const path = String(args.path)
  // With armAfter, the parent attaches its fault plan once that many tasks are done (runTaskArmed).
  const armAfter = args.armAfter === undefined ? undefined : Number(args.armAfter)
  let board: Board = await openBoard({ path, adapter })
  const acknowledged: string[] = []
  const failures: Array<{ code: string; sqliteCode?: string; hasCause: boolean; doing: string }> = []
  let reopens = 0

  const step = async <T>(doing: string, operation: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await operation()
      } catch (error) {
        if (!KanbanDbError.isKanbanDbError(error) || !['TRANSIENT_IO', 'DISK_FULL'].includes(error.code) || attempt > 6) throw error
        failures.push({ code: error.code, sqliteCode: error.sqliteCode, hasCause: error.cause !== undefined, doing })
        if (attempt >= 2) {
          await board.close().catch(() => {})
          board = await openBoard({ path, adapter })
          reopens += 1
        }
      }
    }
  }

  try {
    for (;;) {
      const task = await step('claiming', () => board.claimNext({ workerId: 'faults-worker', pid: process.pid, host: hostname(), leaseMs: 600_000 }))
      if (!task) break
      await step('completing', () => board.complete(task.id, task.claimToken))
      acknowledged.push(task.id)
      if (acknowledged.length === armAfter) {
        await channel.send({ armed: process.pid })
        await channel.receive()
      }
    }
  } finally {
    await board.close().catch(() => {})
  }
  return { pid: process.pid, acknowledged, failures, reopens }
}

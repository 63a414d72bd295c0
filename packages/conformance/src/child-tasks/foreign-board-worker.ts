import { readFileSync, realpathSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { KanbanDbError, openBoard } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { auditLocks, auditSidecars } from '@kanban-db/core/internal'

/**
 * A kanban-db worker process beside foreign clients: until `untilMs` (ms since the epoch) it creates
 * a few tasks at a time while its `board.work` worker claims and completes ready tasks (its own or
 * anyone's), creating the next few once the worker has completed as many or nothing is ready;
 * afterwards it lets the worker drain and stops it once nothing is ready any more (or an error
 * came while draining: on a damaged board it may make no progress). Every 25
 * operations (creates and completions) it audits this process: its POSIX locks on the board
 * (`auditLocks`) and descriptors on deleted sidecars (`auditSidecars`). BUSY that reaches this
 * caller (a create, or the worker's `error` event) is counted, never retried here (the board's write
 * path must absorb it); any other error, or a task the worker failed, lost or released, is an error.
 * With `hazard: 'fs-read'` (the control) it reads the database file with `fs` once after its first
 * audit, which drops its POSIX locks on the board (H2), and carries on.
 * Returns `{ created, completed, busy, lostLockAudits, audits, maxDeletedSidecarFds, errors }`.
 */
export async function foreignBoardWorker(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  const path = String(args.path)
  const untilMs = Number(args.untilMs)
  const workerId = String(args.workerId)
  const board = await openBoard({ path, adapter })
  const realPath = realpathSync(path)
  const created: string[] = []
  const completed: string[] = []
  const errors: string[] = []
  let busy = 0
  let operations = 0
  let audits = 0
  let lostLockAudits = 0
  let maxDeletedSidecarFds = 0

  const audit = () => {
    audits += 1
    if (auditLocks({ path: realPath }).missing.length > 0) lostLockAudits += 1
    maxDeletedSidecarFds = Math.max(maxDeletedSidecarFds, auditSidecars(realPath)?.deletedSidecarFds ?? 0)
  }
  const operation = () => {
    operations += 1
    if (operations % 25 === 0) audit()
  }
  const surfaced = (error: unknown) => {
    if (KanbanDbError.isKanbanDbError(error) && error.code === 'BUSY') busy += 1
    else errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
  }

  /** True once no task is ready on the board (the worker, or another process's, took them all). */
  const noneReady = async () => {
    try {
      return (await board.listTasks({ status: ['ready'], limit: 1 })).length === 0
    } catch (error) {
      surfaced(error)
      return true
    }
  }
  try {
    audit()
    if (args.hazard === 'fs-read') readFileSync(path) // --allow-fs: the H2 hazard, reproduced on purpose for the control
    // The handler turns the event loop once per task, as one doing I/O would: on a synchronous
    // driver a chain of completeAndClaimNext calls with a handler that returns at once never does,
    // so timers and IPC wait until the chain ends (on the control's damaged board it may not end).
    const worker = board.work({ workerId, leaseMs: 60_000 }, () => new Promise<void>((resolve) => setImmediate(resolve)))
    let stopped = false
    worker.on('completed', ({ task }) => {
      completed.push(task.id)
      operation()
    })
    worker.on('error', ({ error }) => {
      surfaced(error)
      operation()
    })
    worker.on('failed', ({ task, error }) => errors.push(`task ${task.id} failed: ${String(error)}`))
    worker.on('lost', ({ taskId, kind }) => errors.push(`the claim on ${taskId} was lost (${kind})`))
    worker.on('released', ({ task, reason }) => errors.push(`task ${task.id} was released (${reason})`))
    worker.on('stopped', () => (stopped = true))
    while (Date.now() < untilMs && !stopped) {
      try {
        const tasks = await board.createTasks(Array.from({ length: 4 }, (_, index) => ({ title: `${workerId} task ${created.length + index}` })))
        created.push(...tasks.map((task) => task.id))
      } catch (error) {
        surfaced(error)
      }
      operation()
      // The next few once the worker has completed as many, nothing is left ready, or it met an error
      // (a condition, polled; a worker on a damaged board may make no progress at all).
      const target = completed.length + 4
      const failures = busy + errors.length
      while (completed.length < target && busy + errors.length === failures && Date.now() < untilMs && !stopped && !(await noneReady())) await delay(5)
    }
    // Drain: stop once nothing is ready any more (whatever is running, its worker completes), or
    // once the worker meets an error while draining.
    const failures = busy + errors.length
    while (busy + errors.length === failures && !stopped && !(await noneReady())) await delay(5)
    await worker.stop({ timeoutMs: 10_000 })
    audit()
  } finally {
    await board.close()
  }
  return { pid: process.pid, created, completed, busy, lostLockAudits, audits, maxDeletedSidecarFds, errors: errors.slice(0, 10), errorCount: errors.length }
}

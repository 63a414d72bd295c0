import { readFileSync, realpathSync } from 'node:fs'
import { hostname } from 'node:os'
import { auditLocks, auditSidecars, KanbanDbError, openBoard, type SqliteAdapter } from '@kanban-db/core'

/**
 * A kanban-db worker process beside foreign clients: until `untilMs` (ms since the epoch) it creates
 * a few tasks, then claims and completes ready tasks (its own or anyone's); afterwards it drains
 * what is left. Every 25 operations it audits this process: its POSIX locks on the board
 * (`auditLocks`) and descriptors on deleted sidecars (`auditSidecars`). BUSY that reaches this
 * caller is counted, never retried here (the board's write path must absorb it). With
 * `hazard: 'fs-read'` (the control) it reads the database file with `fs` once after its first
 * audit, which drops its POSIX locks on the board (H2), and carries on with the audit off.
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
  const attempt = async (operation: () => Promise<void>) => {
    try {
      await operation()
    } catch (error) {
      if (KanbanDbError.isKanbanDbError(error) && error.code === 'BUSY') busy += 1
      else errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
    }
    operations += 1
    if (operations % 25 === 0) audit()
  }
  const claimAndComplete = async (): Promise<boolean> => {
    let claimedAny = false
    await attempt(async () => {
      const task = await board.claimNext({ workerId, pid: process.pid, host: hostname(), leaseMs: 60_000 })
      if (!task) return
      claimedAny = true
      await board.complete(task.id, task.claimToken)
      completed.push(task.id)
    })
    return claimedAny
  }

  try {
    audit()
    if (args.hazard === 'fs-read') readFileSync(path) // --allow-fs: the H2 hazard, reproduced on purpose for the control
    while (Date.now() < untilMs) {
      await attempt(async () => {
        const tasks = await board.createTasks(Array.from({ length: 4 }, (_, index) => ({ title: `${workerId} task ${created.length + index}` })))
        created.push(...tasks.map((task) => task.id))
      })
      for (let index = 0; index < 4; index += 1) await claimAndComplete()
    }
    while (await claimAndComplete()) {
      // drain what is left
    }
    audit()
  } finally {
    await board.close()
  }
  return { pid: process.pid, created, completed, busy, lostLockAudits, audits, maxDeletedSidecarFds, errors: errors.slice(0, 10), errorCount: errors.length }
}

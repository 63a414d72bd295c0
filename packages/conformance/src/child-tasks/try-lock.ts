import { KanbanDbError } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'

/**
 * Tries to take the adapter's cross-process lock `lockPath` within `timeoutMs`. Returns
 * `{ acquired: true }` (releasing it at once) or `{ acquired: false, code }` with the error's code.
 */
export async function tryLock(adapter: SqliteAdapter, args: Record<string, unknown>): Promise<unknown> {
  try {
    const lock = await adapter.acquireLock(String(args.lockPath), { timeoutMs: Number(args.timeoutMs) })
    lock.release()
    return { acquired: true }
  } catch (error) {
    if (KanbanDbError.isKanbanDbError(error)) return { acquired: false, code: error.code }
    throw error
  }
}

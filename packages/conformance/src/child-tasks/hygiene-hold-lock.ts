import { mkdirSync } from 'node:fs'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'

/**
 * Takes a lock and holds it until this process is killed: the adapter's cross-process lock on
 * `lockPath`, or, as the control of a crash-released lock, a naive `mkdir` lock on `naiveDir`.
 * Sends `'held'` once it holds it, then waits for a message that never comes.
 */
export async function hygieneHoldLock(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  if (typeof args.naiveDir === 'string') {
    mkdirSync(args.naiveDir)
    await channel.send('held')
    return channel.receive()
  }
  // Keep the lock referenced: a garbage-collected driver connection closes and frees its lock.
  const lock = await adapter.acquireLock(String(args.lockPath), { timeoutMs: 10_000 })
  await channel.send('held')
  const message = await channel.receive()
  lock.release()
  return message
}

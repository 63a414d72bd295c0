import { strict as assert } from 'node:assert'
import { openBoard } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'

interface LockProbe {
  readonly acquired: boolean
  readonly code?: string
  readonly tasks: number
}

/**
 * A board write transaction takes SQLite's write (RESERVED) lock at BEGIN, before its first write:
 * while the callback has not written anything yet, another process's `BEGIN IMMEDIATE` is refused
 * with SQLITE_BUSY (its reads still work). A deferred `BEGIN` would take the lock only at the first
 * write and could then fail at once with SQLITE_BUSY instead of waiting (sqlite-wal-facts.md §4).
 * Control: under a deferred BEGIN that has only read, the same probe gets the lock, so the probe
 * can tell the two apart.
 */
export const beginImmediate: ConformanceCase = {
  id: 'txn.begin-immediate',
  title: 'writeTxn holds the write lock from BEGIN: another process\'s BEGIN IMMEDIATE is refused while it is open, granted after',
  tier: 'txn',
  requires: ['sharedFile'],
  timeoutMs: 180_000,
  async run(context) {
    const path = context.path('board.db')
    // The probe spawns a process inside the transaction: give it time on a loaded machine.
    const board = await openBoard({ path, adapter: context.adapter, write: { transactionTimeoutMs: 150_000 } })
    try {
      await board.createTask({ title: 'existing' })

      // Control: a deferred transaction that has only read holds no write lock.
      const raw = await context.adapter.open(path)
      let control: LockProbe
      try {
        raw.exec('BEGIN')
        raw.prepare('select count(*) from tasks').all([])
        control = await context.child<LockProbe>('try-write-lock', { path })
        raw.exec('ROLLBACK')
      } finally {
        raw.close()
      }
      context.note(`control (deferred BEGIN + read): another process's BEGIN IMMEDIATE -> ${JSON.stringify(control)}`)
      if (!control.acquired) throw new Error(`control did not reproduce the hazard: the probe was refused (${control.code}) without a write lock held`)

      // The board: probe while the callback is open and has written nothing.
      let during: LockProbe | undefined
      await board.writeTxn(async () => {
        during = await context.child<LockProbe>('try-write-lock', { path })
      })
      context.note(`inside writeTxn before any write: ${JSON.stringify(during)}`)
      assert.ok(during && !during.acquired, 'another process took the write lock while a board write transaction was open')
      assert.match(during.code ?? '', /^SQLITE_BUSY/, `the probe was refused with ${during.code}, not SQLITE_BUSY`)
      assert.equal(during.tasks, 1, 'the other process could not read while the write transaction was open')

      const after = await context.child<LockProbe>('try-write-lock', { path })
      assert.ok(after.acquired, `the write lock was still held after the transaction ended (${after.code})`)
    } finally {
      await board.close()
    }
  },
}

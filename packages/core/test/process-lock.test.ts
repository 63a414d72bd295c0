import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { LockTimeout } from '@kanban-db/core'
import { bundledAdapters } from './adapters.js'
import { tempDir } from './temp-dir.js'

describe('acquireLock', () => {
  for (const { name, create } of bundledAdapters) {
    it(`${name}: excludes a second holder, times out clearly, and is free again after release`, async () => {
      const adapter = await create()
      const lockPath = join(tempDir(), 'board.db.init-lock')
      const first = await adapter.acquireLock(lockPath, { timeoutMs: 1000 })
      const second = adapter.acquireLock(lockPath, { timeoutMs: 50 })
      await expect(second).rejects.toBeInstanceOf(LockTimeout)
      first.release()
      first.release()
      const third = await adapter.acquireLock(lockPath, { timeoutMs: 1000 })
      third.release()
    })
  }
})

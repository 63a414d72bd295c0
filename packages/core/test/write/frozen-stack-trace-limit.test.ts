import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openBoard } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

// The write path turns stack capture off around BEGIN IMMEDIATE (a failed try is then cheap). A
// runtime whose intrinsics are frozen (node --frozen-intrinsics, a hardened realm) refuses that
// assignment; writes must still work there, not fail with a TypeError.
for (const { name, create } of bundledAdapters) {
  describe(`write path with a read-only Error.stackTraceLimit (${name})`, () => {
    it('writes, and leaves the limit as it was', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      const original = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')!
      expect(original.configurable, 'this runtime does not let the test make the limit read-only').toBe(true)
      Object.defineProperty(Error, 'stackTraceLimit', { value: original.value, writable: false, configurable: true, enumerable: original.enumerable })
      try {
        await expect(board.createTask({ title: 'written' })).resolves.toMatchObject({ title: 'written' })
        expect(Error.stackTraceLimit).toBe(original.value)
      } finally {
        Object.defineProperty(Error, 'stackTraceLimit', original)
        await board.close()
      }
    })
  })
}

import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bundledAdapters } from '../adapters.js'
import { openBoard } from '@kanban-db/core'
import { tempDir } from '../temp-dir.js'

for (const { name, create } of bundledAdapters) {
  describe(`close() on ${name}`, () => {
    it('resolves after a turn of the event loop, so the driver frees what it queued for it (a loop that only awaits open and close grew ~30 KB per cycle)', async () => {
      const board = await openBoard({ path: join(tempDir(), 'board.db'), adapter: await create() })
      await board.createTask({ title: 't' })
      let turned = false
      setImmediate(() => {
        turned = true
      })
      await board.close()
      expect(turned).toBe(true)
    })
  })
}

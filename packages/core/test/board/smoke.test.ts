import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

describe('smoke', () => {
  for (const { name, create } of bundledAdapters) {
    it(name, async () => {
      const board = await openBoard({ path: join(tempDir(), 'b.db'), adapter: await create() })
      try {
        const a = await board.createTask({ title: 'a' })
        const b = await board.createTask({ title: 'b', dependsOn: [a.id] })
        expect(b.status).toBe('todo')
        const claimed = await board.claimNext({ workerId: 'w', pid: process.pid, host: 'h', leaseMs: 1000 })
        expect(claimed?.id).toBe(a.id)
        await board.complete(a.id, claimed!.claimToken, { ok: true })
        expect((await board.getTask(b.id))?.status).toBe('ready')
        const events = await board.events()
        expect(events.map((e) => e.kind)).toEqual(['created', 'created', 'claimed', 'completed', 'promoted'])
      } finally {
        await board.close()
      }
    })
  }
})

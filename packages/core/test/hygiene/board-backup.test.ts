import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openBoard } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

describe('board.backupTo and board.health through the hygiene layer', () => {
  for (const { name, create } of bundledAdapters.filter((entry) => entry.name !== 'sql.js')) {
    it(`${name}: the backup passes integrity_check and opens as a board with the same tasks`, async () => {
      const adapter = await create()
      const dir = tempDir()
      const board = await openBoard({ path: join(dir, 'board.db'), adapter })
      try {
        await board.createTasks([{ title: 'one' }, { title: 'two' }])
        const health = await board.health()
        expect(health.journalMode).toBe('wal')
        expect(health.deletedSidecarFds).toBe(0)
        expect(health.locksMissing).toEqual([])
        board.checkGhost()
        await board.backupTo(join(dir, 'copy.db'))
      } finally {
        await board.close()
      }
      const copy = await openBoard({ path: join(dir, 'copy.db'), adapter })
      try {
        expect((await copy.listTasks()).map((task) => task.title).sort()).toEqual(['one', 'two'])
      } finally {
        await copy.close()
      }
    })
  }
})

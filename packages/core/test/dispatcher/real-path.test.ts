import { describe, expect, it } from 'vitest'
import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { Dispatcher } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

// Two spellings of one board (a symlink to its file, `..` past a linked directory) must be one board
// with one `.dispatch-lock`: named from the text, two dispatchers would each hold "the" tick lock.
describe('the dispatcher names boards by their real path', () => {
  it('supervises a board named through a symlink and through `..` past a link as the one real file', async () => {
    const adapter = await bundledAdapters[0]!.create()
    const dir = tempDir()
    mkdirSync(join(dir, 'real', 'deep'), { recursive: true })
    const board = join(dir, 'real', 'board.db')
    symlinkSync(board, join(dir, 'link.db'))
    symlinkSync(join(dir, 'real', 'deep'), join(dir, 'sub'))
    const spellings = [board, join(dir, 'link.db'), `${dir}/sub/../board.db`]
    const dispatcher = new Dispatcher({ boards: spellings, adapter, spawn: () => Promise.reject(new Error('never spawned')) })
    try {
      // Control: text normalisation would have named `${dir}/board.db` for the third spelling.
      expect(dispatcher.status().boards.map((status) => status.path)).toEqual([board])
    } finally {
      await dispatcher.stop()
    }
  })
})

import { strict as assert } from 'node:assert'
import { renameSync, unlinkSync } from 'node:fs'
import { GhostFile } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'
import { damageOf, insertRows, openHazardBoard, readInFreshProcess } from './hazard.board-scenario.js'

/**
 * H3 (docs/sqlite-wal-facts.md §2): the board file is replaced under an open connection
 * (a "restore" by `mv` of an older backup). Control: the connection keeps committing and
 * checkpointing into the old inode, and a fresh process misses those commits. Protection: the ghost
 * check (device and inode at open versus now) raises GhostFile before anything is written, for a
 * replaced, a moved and a deleted file.
 */
export const fileReplacedUnderBoard: ConformanceCase = {
  id: 'hazard.file-replaced-under-board',
  title: 'a board file replaced, moved or deleted under an open board is detected by the ghost check (H3)',
  tier: 'corruption',
  requires: ['sharedFile', 'wal', 'onlineBackup'],
  timeoutMs: 60_000,
  async run(context) {
    const { adapter } = context
    // Control: replace the file, keep writing without the check.
    const path = context.path('control.db')
    const board = await openHazardBoard(adapter, path)
    const expected: string[] = []
    try {
      expected.push(...insertRows(board.connection, 'before-backup', 3))
      await board.backupTo(context.path('restore.db'))
      expected.push(...insertRows(board.connection, 'after-backup', 3))
      renameSync(context.path('restore.db'), path) // the hazard: "restore" by mv under an open board --allow-fs
      expected.push(...insertRows(board.connection, 'after-replace', 3))
      board.checkpoint('TRUNCATE')
    } finally {
      board.close()
    }
    const control = damageOf(expected, { 'after the replace': await readInFreshProcess(context, path) }, 0)
    context.note(`control (file replaced, no ghost check): ${control.join('; ') || 'no damage'}`)
    if (control.length === 0) throw new Error('control did not reproduce the hazard: commits after the replace were visible at the path')

    // Protection: the same replace is detected before any write; so are a move and a delete.
    for (const variant of ['replaced', 'moved', 'deleted'] as const) {
      const variantPath = context.path(`${variant}.db`)
      const held = await openHazardBoard(adapter, variantPath)
      try {
        insertRows(held.connection, 'before', 3)
        held.checkGhost()
        if (variant === 'replaced') {
          await held.backupTo(context.path(`${variant}-restore.db`))
          renameSync(context.path(`${variant}-restore.db`), variantPath) // --allow-fs: the hazard
        } else if (variant === 'moved') {
          renameSync(variantPath, context.path('moved-away.db')) // --allow-fs: the hazard
        } else {
          unlinkSync(variantPath) // --allow-fs: the hazard (unlink opens nothing)
        }
        assert.throws(() => held.checkGhost(), GhostFile, `a ${variant} file was not detected`)
        assert.equal(held.health().file, variant === 'replaced' ? 'replaced' : 'missing')
      } finally {
        held.close()
      }
    }
    context.note('protected: GhostFile raised for a replaced, a moved and a deleted board before any write')
  },
}

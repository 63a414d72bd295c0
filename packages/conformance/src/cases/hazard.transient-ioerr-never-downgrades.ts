import { strict as assert } from 'node:assert'
import { TransientIO } from '@kanban-db/core'
import { openHygienicConnection } from '@kanban-db/core/internal'
import type { ConformanceCase } from '../case.js'
import { hazardBoardOptions, insertRows, openHazardBoard } from './hazard.board-scenario.js'
import { faultInjectingAdapter, isWalProbeOrSwitch, naiveJournalModeStep, sqliteError } from './hazard.fault-injecting-adapter.js'

/**
 * A transient `SQLITE_IOERR` during the journal-mode step of an open, injected at the driver
 * boundary on a board already in WAL. Control: an open that treats any WAL failure as "no WAL here"
 * switches the live board to DELETE. Protection: the open policy raises TransientIO and the file
 * stays in WAL with every row.
 */
export const transientIoerrNeverDowngrades: ConformanceCase = {
  id: 'hazard.transient-ioerr-never-downgrades',
  title: 'a transient SQLITE_IOERR in the journal-mode step raises TransientIO and leaves WAL on disk',
  tier: 'corruption',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 30_000,
  async run(context) {
    const { adapter } = context
    const fault = (path: string) =>
      faultInjectingAdapter(adapter, {
        path,
        matches: isWalProbeOrSwitch,
        error: () => sqliteError('disk I/O error', 'SQLITE_IOERR_SHMMAP', 5386),
      })
    const modeOnDisk = async (path: string) => {
      const fresh = await adapter.open(path, { create: false })
      try {
        return adapter.probeJournalMode(fresh)
      } finally {
        fresh.close()
      }
    }
    const prepare = async (path: string) => {
      const board = await openHazardBoard(adapter, path)
      insertRows(board.connection, 'row', 5)
      board.close()
      assert.equal(await modeOnDisk(path), 'wal')
    }

    const controlPath = context.path('control.db')
    await prepare(controlPath)
    const faulty = fault(controlPath)
    const naive = await faulty.open(controlPath)
    try {
      naiveJournalModeStep(faulty, naive)
    } finally {
      naive.close()
    }
    const controlMode = await modeOnDisk(controlPath)
    context.note(`control (any WAL failure means DELETE): ${faulty.injected} injected error(s), journal mode on disk now ${controlMode}`)
    if (controlMode === 'wal') throw new Error('control did not reproduce the hazard: the naive open left WAL on disk')

    const path = context.path('protected.db')
    await prepare(path)
    const protectedFault = fault(path)
    await assert.rejects(openHygienicConnection(protectedFault, path, hazardBoardOptions), TransientIO)
    assert.ok(protectedFault.injected > 0, 'the fault was never injected')
    assert.equal(await modeOnDisk(path), 'wal', 'the open policy changed the journal mode after an I/O error')
    const board = await openHazardBoard(adapter, path)
    try {
      assert.equal(board.connection.prepare('SELECT count(*) AS n FROM items').all([])[0]?.n, 5)
    } finally {
      board.close()
    }
    context.note(`protected: TransientIO raised after ${protectedFault.injected} injected error(s); WAL on disk, 5 of 5 rows`)
  },
}

import { strict as assert } from 'node:assert'
import { UnsupportedFilesystem } from '@kanban-db/core'
import { openHygienicConnection } from '@kanban-db/core/internal'
import type { ConformanceCase } from '../case.js'
import { hazardBoardOptions, insertRows, openHazardBoard } from './hazard.board-scenario.js'
import { faultInjectingAdapter, isWalProbeOrSwitch, naiveJournalModeStep, sqliteError } from './hazard.fault-injecting-adapter.js'

const lockingProtocol = () => sqliteError('locking protocol', 'SQLITE_PROTOCOL', 15)

/**
 * "locking protocol" (a filesystem that cannot do WAL's shared memory) injected at the driver
 * boundary. On a fresh file the policy falls back to DELETE and records why. On a file already in
 * WAL it refuses with UnsupportedFilesystem and leaves WAL on disk; the control (fall back whenever
 * WAL fails) downgrades that live WAL board.
 */
export const lockingProtocolFallback: ConformanceCase = {
  id: 'hazard.locking-protocol-fallback',
  title: '"locking protocol" falls back to DELETE on a fresh file and is refused on a WAL file',
  tier: 'corruption',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 30_000,
  async run(context) {
    const { adapter } = context
    const modeOnDisk = async (path: string) => {
      const fresh = await adapter.open(path, { create: false })
      try {
        return adapter.probeJournalMode(fresh)
      } finally {
        fresh.close()
      }
    }

    // A fresh file on a filesystem where the switch to WAL fails: DELETE, with the reason recorded.
    const freshPath = context.path('fresh.db')
    const onFresh = faultInjectingAdapter(adapter, { path: freshPath, matches: (sql) => /journal_mode\s*=\s*'?wal/i.test(sql), error: lockingProtocol })
    const fresh = await openHygienicConnection(onFresh, freshPath, hazardBoardOptions)
    try {
      assert.equal(fresh.journalMode, 'delete')
      assert.ok(onFresh.injected > 0, 'the fault was never injected')
      assert.match(fresh.skipped.find((step) => step.step === 'journal-mode')?.reason ?? '', /locking protocol/)
      assert.deepEqual(insertRows(fresh.connection, 'row', 2), ['row-0', 'row-1'])
    } finally {
      fresh.close()
    }
    assert.equal(await modeOnDisk(freshPath), 'delete')

    // A WAL board whose connection now meets "locking protocol".
    const prepare = async (path: string) => {
      const board = await openHazardBoard(adapter, path)
      insertRows(board.connection, 'row', 5)
      board.close()
      assert.equal(await modeOnDisk(path), 'wal')
    }
    const controlPath = context.path('control.db')
    await prepare(controlPath)
    const onControl = faultInjectingAdapter(adapter, { path: controlPath, connections: 1, matches: isWalProbeOrSwitch, error: lockingProtocol })
    const naive = await onControl.open(controlPath)
    try {
      naiveJournalModeStep(onControl, naive)
    } finally {
      naive.close()
    }
    const controlMode = await modeOnDisk(controlPath)
    context.note(`control (fall back whenever WAL fails): WAL board now ${controlMode}`)
    if (controlMode === 'wal') throw new Error('control did not reproduce the hazard: the naive fallback left WAL on disk')

    const walPath = context.path('wal.db')
    await prepare(walPath)
    const onWal = faultInjectingAdapter(adapter, { path: walPath, connections: 1, matches: isWalProbeOrSwitch, error: lockingProtocol })
    await assert.rejects(openHygienicConnection(onWal, walPath, hazardBoardOptions), UnsupportedFilesystem)
    assert.ok(onWal.injected > 0, 'the fault was never injected')
    assert.equal(await modeOnDisk(walPath), 'wal', 'the policy downgraded a WAL board')
    context.note('protected: fresh file fell back to DELETE with the reason recorded; the WAL board was refused and stays WAL')
  },
}

import { strict as assert } from 'node:assert'
import { readFileSync } from 'node:fs'
import type { ConformanceCase } from '../case.js'
import { locksLostScenario, requireLockAuditAndPython } from './hazard.locks-lost-scenario.js'

/**
 * H2 detected: `fs.readFileSync` of the live database (a naive copy or header peek) in the process
 * that holds the board drops its POSIX lock on the file. Control (audit off): a 3.40 closer then
 * unlinks the sidecars and rows are lost. Protected: the audit raises LocksLost before any other
 * process runs, the reopen restores the locks, and the same sequence loses nothing.
 */
export const locksLostFsRead: ConformanceCase = {
  id: 'hazard.locks-lost-fs-read',
  title: 'an fs read of the live db drops its locks (H2): the lock audit raises LocksLost at once, a reopen restores them, nothing lost (control: rows lost)',
  tier: 'corruption',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 90_000,
  async run(context) {
    requireLockAuditAndPython()
    // The hazard, reproduced on purpose in the case's own code (never in library code).
    const hazard = async (path: string) => void readFileSync(path) // --allow-fs: the H2 hazard under test
    const control = await locksLostScenario(context, 'control', hazard)
    if (control.length === 0) throw new Error('control did not reproduce the hazard: with the audit off, nothing was lost')
    const protectedRun = await locksLostScenario(context, 'protected', hazard)
    assert.deepEqual(protectedRun, [], `with the audit and the reopen, damage remained: ${protectedRun.join('; ')}`)
  },
}

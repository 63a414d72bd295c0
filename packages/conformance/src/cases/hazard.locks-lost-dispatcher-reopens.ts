import { strict as assert } from 'node:assert'
import { readFileSync, realpathSync } from 'node:fs'
import { Dispatcher, openBoard, type DispatcherEvent, type WorkerExit } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { auditLocks, auditSidecars } from '@kanban-db/core/internal'
import type { CaseContext, ConformanceCase } from '../case.js'
import { runPython, pythonCloser, pythonWriter } from './foreign.clients.js'
import { requireLockAuditAndPython } from './hazard.locks-lost-scenario.js'

/**
 * H2 under a dispatcher: code in the dispatcher's process reads the live board with `fs` (dropping
 * the process's POSIX locks). The dispatcher's per-tick check raises `LocksLost`, and the dispatcher
 * closes the board and opens it again on the next tick, which takes the locks afresh; a 3.40 closer
 * and writer afterwards lose nothing. Control: the same run with the per-tick check switched off
 * (the board's `checkGhost` replaced by a no-op) loses rows.
 *
 * Not registered in `cases/index.ts` yet: it fails until the dispatcher reopens a board on
 * `LOCKS_LOST` (add the code to `needsReopen` in `core/src/dispatcher/dispatcher.ts`); with that
 * one-word change it passes on better-sqlite3 and node:sqlite.
 */
export const locksLostDispatcherReopens: ConformanceCase = {
  id: 'hazard.locks-lost-dispatcher-reopens',
  leavesDescriptors: "the control's dispatcher keeps descriptors on the board and its deleted sidecars after its locks were lost",
  title: 'after an fs read in the dispatcher process (H2) the dispatcher sees LocksLost and reopens the board; nothing lost (control with the check off: rows lost)',
  tier: 'corruption',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 90_000,
  async run(context) {
    requireLockAuditAndPython()
    const control = await scenario(context, 'control')
    if (control.length === 0) throw new Error('control did not reproduce the hazard: with the per-tick check off, nothing was lost')
    const protectedRun = await scenario(context, 'protected')
    assert.deepEqual(protectedRun, [], `with the dispatcher's check and reopen, damage remained: ${protectedRun.join('; ')}`)
  },
}

async function scenario(context: CaseContext, mode: 'control' | 'protected'): Promise<string[]> {
  const path = context.path(`${mode}.db`)
  const setup = await openBoard({ path, adapter: context.adapter })
  const ids = (await setup.createTasks(Array.from({ length: 12 }, (_, index) => ({ title: `task ${index}` })))).map((task) => task.id)
  await setup.close()
  await runPython<null>(['import sqlite3, sys', 'c = sqlite3.connect(sys.argv[1], timeout=10)', 'c.execute("create table items (id integer primary key, label text not null)")', 'c.commit()', 'c.close()', 'print("null")'].join('\n'), [path])

  const events: DispatcherEvent[] = []
  const dispatcher = new Dispatcher({
    boards: [path],
    adapter: context.adapter,
    concurrency: 2,
    spawn: () => ({ pid: process.pid, exit: Promise.resolve<WorkerExit>({ code: 0, signal: null }) }),
    events: (event) => events.push(event),
    openBoard: mode === 'control' ? withoutCheck : undefined,
  })
  let deletedFds = 0
  let foreign: string[] = []
  try {
    await dispatcher.tick()
    await dispatcher.tick()
    if (auditLocks({ path }).missing.length > 0) throw new Error('the dispatcher holds no locks on the board before the hazard: the case cannot tell anything')
    readFileSync(path) // --allow-fs: the H2 hazard, reproduced on purpose in the dispatcher's process
    await dispatcher.tick()
    await dispatcher.tick()
    const lostSeen = events.some((event) => event.type === 'error' && event.code === 'LOCKS_LOST')
    const missingNow = auditLocks({ path }).missing
    context.note(`${mode}: LocksLost reported: ${lostSeen}; locks missing after two more ticks: ${missingNow.join(', ') || 'none'}`)
    if (mode === 'protected') {
      if (!lostSeen) throw new Error('the dispatcher did not report LocksLost after the hazard')
      if (missingNow.length > 0) throw new Error(`the dispatcher did not reopen the board: locks still missing (${missingNow.join(', ')})`)
    }
    await pythonCloser(path)
    for (let tick = 0; tick < 40; tick += 1) {
      await dispatcher.tick()
      const recorded = events.filter((event) => event.type === 'recorded' && event.outcome === 'written').length
      if (recorded >= ids.length && dispatcher.status().workers === 0) break
    }
    foreign = await pythonWriter(path, Array.from({ length: 5 }, (_, index) => `${mode}-foreign-${index}`))
    await dispatcher.tick()
    deletedFds = auditSidecars(realpathSync(path))?.deletedSidecarFds ?? 0
  } finally {
    await dispatcher.stop()
  }
  const view = await runPython<{ done: number; foreign: string[]; integrity: string[] }>(
    [
      'import sqlite3, sys, json',
      'c = sqlite3.connect(sys.argv[1], timeout=10)',
      'done = c.execute("select count(*) from tasks where status = \'done\'").fetchone()[0]',
      'foreign = [r[0] for r in c.execute("select label from items")]',
      'integrity = [r[0] for r in c.execute("pragma integrity_check")]',
      'c.close()',
      'print(json.dumps({"done": done, "foreign": foreign, "integrity": integrity}))',
    ].join('\n'),
    [path],
  )
  const damage: string[] = []
  if (view.done !== ids.length) damage.push(`a fresh process sees ${view.done} of ${ids.length} tasks done`)
  const lost = foreign.filter((label) => !view.foreign.includes(label))
  if (lost.length > 0) damage.push(`${lost.length} of ${foreign.length} foreign rows lost`)
  if (deletedFds > 0) damage.push(`${deletedFds} descriptor(s) on deleted sidecars in the dispatcher's process`)
  if (view.integrity.join() !== 'ok') damage.push(`integrity_check: ${view.integrity.slice(0, 2).join('; ')}`)
  context.note(`${mode}: ${damage.join('; ') || 'no damage'}`)
  return damage
}

/** The control's boards: `checkGhost` (the per-tick lock audit) switched off. */
async function withoutCheck(path: string, adapter: SqliteAdapter) {
  const board = await openBoard({ path, adapter })
  return Object.assign(Object.create(board) as typeof board, { checkGhost: () => {} })
}

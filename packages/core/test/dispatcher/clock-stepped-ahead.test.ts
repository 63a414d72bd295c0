import { afterEach, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard, type WorkerExit, type WorkerHandle } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { ofType, recordEvents } from './helpers.js'

const HOUR = 3_600_000
/** The clock guard's switch (its control); see the board's clockSkew. */
const CLOCK_GUARDS_ENV = 'KANBAN_DB_CLOCK_GUARDS'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  delete process.env[CLOCK_GUARDS_ENV]
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/**
 * A SQLite board with one task claimed by a live worker of another host (a 10-minute lease, written
 * by the real clock), and a dispatcher on it whose clock reads an hour ahead: the host's clock
 * stepped forward (NTP), as every process on the host sees it at once. Returns what one tick took back.
 */
async function tickWithClockAnHourAhead(): Promise<{ reclaimed: number; claimedBy: string | null | undefined }> {
  const adapter = await createBetterSqlite3()
  const path = join(tempDir(), 'board.db')
  const board = await openBoard({ path, adapter })
  cleanups.push(() => board.close())
  const task = await board.createTask({ title: 'long job' })
  const claim = await board.claimNext({ workerId: 'worker-elsewhere', host: 'another-host', pid: 4242, leaseMs: 10 * 60_000 })
  expect(claim?.id).toBe(task.id)
  const dispatcher = new Dispatcher({
    boards: [path],
    adapter,
    now: () => Date.now() + HOUR,
    // A task it takes back it claims again for a worker of its own: a stand-in that exits when told.
    spawn: (): WorkerHandle => {
      let finish!: (exit: WorkerExit) => void
      const exit = new Promise<WorkerExit>((resolve) => (finish = resolve))
      return { pid: undefined, exit, kill: () => finish({ code: 0, signal: null }) }
    },
  })
  const events = recordEvents(dispatcher)
  cleanups.push(() => dispatcher.stop())
  await dispatcher.tick()
  expect(ofType(events, 'error')).toEqual([])
  const reclaimed = ofType(events, 'reclaimed').flatMap((event) => event.claims)
  return { reclaimed: reclaimed.length, claimedBy: (await board.getTask(task.id))?.claimedBy }
}

it('a dispatcher whose clock stepped an hour ahead does not take back a live claim on a SQLite board (control: with the clock guard off it does)', async () => {
  process.env[CLOCK_GUARDS_ENV] = 'off'
  const control = await tickWithClockAnHourAhead()
  if (control.reclaimed === 0) throw new Error('control did not reproduce the hazard: with the guard off, the dispatcher an hour ahead took nothing back')
  expect(control.claimedBy).not.toBe('worker-elsewhere')

  delete process.env[CLOCK_GUARDS_ENV]
  const guarded = await tickWithClockAnHourAhead()
  expect(guarded.reclaimed).toBe(0)
  expect(guarded.claimedBy).toBe('worker-elsewhere')
})

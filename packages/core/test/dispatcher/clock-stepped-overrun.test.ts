import { afterEach, expect, it } from 'vitest'
import { join } from 'node:path'
import { Dispatcher, openBoard } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { tempDir } from '../temp-dir.js'
import { ForkedWorkers, ofType, startWorkerOf } from './helpers.js'

const HOUR = 3_600_000
const MAX_RUNTIME_MS = 600_000
/** The clock guards' switch (their control); see ClockSteps and the board's clockSkew. */
const CLOCK_GUARDS_ENV = 'KANBAN_DB_CLOCK_GUARDS'
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  delete process.env[CLOCK_GUARDS_ENV]
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/**
 * A dispatcher on a SQLite board (its own clock judges its workers' runs there) starts a worker for
 * a task that may run 10 minutes; then the host's clock steps an hour forward (NTP) and the
 * dispatcher ticks. Returns what it did at that tick and a function that lets time pass normally.
 */
async function clockStepsAnHourForward() {
  const adapter = await createBetterSqlite3()
  const path = join(tempDir(), 'board.db')
  const setup = await openBoard({ path, adapter })
  const { id: taskId } = await setup.createTask({ title: 'ten-minute job', maxRuntimeMs: MAX_RUNTIME_MS, maxAttempts: 1 })
  await setup.close()
  const clock = { now: 1_000_000 }
  const workers = new ForkedWorkers()
  const dispatcher = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, now: () => clock.now })
  const events = await startWorkerOf(taskId, dispatcher, workers, cleanups)
  clock.now += HOUR
  await dispatcher.tick()
  const overranAtTheStep = ofType(events, 'overran').length
  /** Ticks after `ms` more of the clock, in steps of a minute (time passing, no step). */
  const pass = async (ms: number) => {
    for (let passed = 0; passed < ms; passed += 60_000) {
      clock.now += Math.min(60_000, ms - passed)
      await dispatcher.tick()
    }
  }
  return { taskId, events, workers, overranAtTheStep, pass }
}

it("a host clock stepped an hour forward does not make the dispatcher terminate its own worker as overrunning; the worker is stopped once it really ran past maxRuntimeMs (control: with the clock guards off it is terminated at the step)", async () => {
  process.env[CLOCK_GUARDS_ENV] = 'off'
  const control = await clockStepsAnHourForward()
  if (control.overranAtTheStep === 0) throw new Error('control did not reproduce the hazard: with the guards off, the clock step did not make the live worker overrun')
  expect(ofType(control.events, 'terminating').map((event) => [event.taskId, event.reason])).toEqual([[control.taskId, 'timed-out']])

  delete process.env[CLOCK_GUARDS_ENV]
  const guarded = await clockStepsAnHourForward()
  expect(guarded.overranAtTheStep).toBe(0)
  expect(ofType(guarded.events, 'terminating')).toEqual([])
  expect(guarded.workers.alive(guarded.taskId)).toBe(true)
  // Nine minutes of real run after the step (an hour and nine by the clock): not past the bound yet.
  await guarded.pass(MAX_RUNTIME_MS - 60_000)
  expect(ofType(guarded.events, 'overran')).toEqual([])
  await guarded.pass(60_000)
  expect(ofType(guarded.events, 'overran')).toMatchObject([{ owner: 'this', action: 'terminate', claim: { taskId: guarded.taskId } }])
  expect(ofType(guarded.events, 'terminating').map((event) => [event.taskId, event.reason])).toEqual([[guarded.taskId, 'timed-out']])
})

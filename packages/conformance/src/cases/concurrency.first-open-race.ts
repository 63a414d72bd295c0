import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { LockTimeout } from '@kanban-db/core'
import type { ConformanceCase } from '../case.js'
import type { TaskHandle } from '../task-handle.js'

const ROUNDS = 50

/** What a racer answers for one round (see the `hygiene-first-open` child task). */
interface RoundAnswer {
  readonly initialised: boolean
  readonly journalMode: string
  readonly schemaVersion: number
  readonly tookInitLock: boolean
}

/**
 * Two processes open the same fresh path at the same moment (both told by one IPC message), 50
 * rounds: exactly one runs `initialise` (it writes a marker row), both end in WAL, and both see the
 * same schema version. Control: the unlocked check-then-initialise, with both processes checking
 * before either initialises (ordered by IPC, not by timing), initialises twice. Then the init lock
 * is shown to die with its holder (SIGKILL), where a mkdir lock (the control) outlives it.
 */
export const firstOpenRace: ConformanceCase = {
  id: 'concurrency.first-open-race',
  title: 'two processes racing on the first open of a fresh board, 50 rounds: exactly one initialises, both end in WAL',
  tier: 'concurrency',
  requires: ['sharedFile', 'wal', 'crossProcessLock'],
  timeoutMs: 180_000,
  async run(context) {
    const racers = [context.spawn('hygiene-first-open'), context.spawn('hygiene-first-open')]
    // A racer that ended early: surface its own error rather than "ended before sending".
    const next = async (racer: TaskHandle) => {
      try {
        return await racer.receive()
      } catch (error) {
        await racer.result
        throw error
      }
    }
    for (const racer of racers) assert.equal(await next(racer), 'ready')
    const ask = async <T>(message: unknown) => {
      for (const racer of racers) racer.send(message)
      return (await Promise.all(racers.map(next))) as T[]
    }
    const markers = async (path: string) => {
      const connection = await context.adapter.open(path, { create: false })
      try {
        context.adapter.setPragma(connection, 'busy_timeout', 10_000)
        return Number(connection.prepare('SELECT count(*) AS n FROM init_marker').all([])[0]?.n)
      } finally {
        connection.close()
      }
    }

    // Control: both check first, then both initialise, without a lock.
    const controlPath = context.path('control.db')
    const checks = await ask<{ missing: boolean }>({ path: controlPath, mode: 'naive-check' })
    assert.deepEqual(checks.map((check) => check.missing), [true, true])
    await ask({ path: controlPath, mode: 'naive-initialise' })
    const controlMarkers = await markers(controlPath)
    context.note(`control (unlocked check-then-initialise, both checked first): initialised ${controlMarkers} times`)
    if (controlMarkers < 2) throw new Error('control did not reproduce the hazard: the unlocked first open initialised once')

    let lockTaken = 0
    for (let round = 0; round < ROUNDS; round += 1) {
      const path = context.path(`race-${round}.db`)
      const answers = await ask<RoundAnswer>({ path, mode: 'policy' })
      const initialisers = answers.filter((answer) => answer.initialised).length
      assert.equal(initialisers, 1, `round ${round}: ${initialisers} processes ran initialise`)
      assert.equal(await markers(path), 1, `round ${round}: the marker table has the wrong number of rows`)
      assert.deepEqual(answers.map((answer) => answer.journalMode), ['wal', 'wal'], `round ${round}: not both in WAL`)
      assert.equal(answers[0]!.schemaVersion, answers[1]!.schemaVersion, `round ${round}: schema versions differ`)
      lockTaken += answers.filter((answer) => answer.tookInitLock).length
    }
    for (const racer of racers) racer.send('stop')
    await Promise.all(racers.map((racer) => racer.result))
    context.note(`protected: ${ROUNDS} rounds, exactly one initialiser each, both WAL, same schema version; init lock taken ${lockTaken} of ${ROUNDS * 2} opens`)

    // The init lock dies with its holder. Control: a mkdir lock outlives a killed holder.
    const naiveDir = context.path('naive.lock')
    const naiveHolder = context.spawn('hygiene-hold-lock', { naiveDir })
    assert.equal(await next(naiveHolder), 'held')
    await naiveHolder.kill('SIGKILL')
    if (!existsSync(naiveDir)) throw new Error('control did not reproduce the hazard: the mkdir lock vanished with its holder')
    const lockPath = context.path('crash.db.init-lock')
    const holder = context.spawn('hygiene-hold-lock', { lockPath })
    assert.equal(await next(holder), 'held')
    await assert.rejects(context.adapter.acquireLock(lockPath, { timeoutMs: 100 }), LockTimeout, 'the init lock did not exclude this process while another held it')
    const { signal } = await holder.kill('SIGKILL')
    const lock = await context.adapter.acquireLock(lockPath, { timeoutMs: 10_000 })
    lock.release()
    context.note(`crash: a mkdir lock outlived its killed holder (control); the init lock excluded while held and was free once its holder died (${signal})`)
  },
}

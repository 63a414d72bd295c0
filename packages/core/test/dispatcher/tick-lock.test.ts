import { afterEach, describe, expect, it } from 'vitest'
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Dispatcher, openBoard, type SqliteAdapter } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { createBoardWithTasks, ofType, recordEvents } from './helpers.js'
// @ts-expect-error a plain .mjs helper shared with the child process
import { readTickLog, tickLogBoard } from './fixtures/tick-log.mjs'

const CHILD = fileURLToPath(new URL('./fixtures/tick-lock-child.mjs', import.meta.url))

type Message = { type: string; skipped?: number; message?: string }
interface TickLog {
  rows: Array<{ seq: number; who: string; what: string }>
  overlaps: unknown[]
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function forkChild(path: string, adapter: SqliteAdapter, tickLock: boolean, hang = false) {
  const child = fork(CHILD, [path, adapter.identity.moduleName, tickLock ? 'on' : 'off', hang ? 'hang' : 'no'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  })
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await closed
  })
  const next = (...types: string[]) => nextMessage(child, types)
  return { child, closed, next }
}

function nextMessage(child: ChildProcess, types: readonly string[]): Promise<Message> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Message) => {
      if (message?.type === 'error') reject(new Error(`the child dispatcher reported: ${message.message}`))
      if (types.includes(message?.type)) {
        child.off('message', onMessage)
        resolve(message)
      }
    }
    child.on('message', onMessage)
    // 'close' comes after the IPC channel has delivered everything.
    child.once('close', (code) => reject(new Error(`the child exited with ${code} before ${types.join('/')}`)))
  })
}

async function tickLog(adapter: SqliteAdapter, path: string): Promise<TickLog> {
  const board = await openBoard({ path, adapter })
  try {
    return (await readTickLog(board)) as TickLog
  } finally {
    await board.close()
  }
}

/**
 * One round: this process's dispatcher, inside its turn on the board (between its begin and end
 * rows), asks the child's dispatcher to tick and waits until the child either began its own turn or
 * finished its tick. Returns the child's answer and the log.
 */
async function interleavedRound(adapter: SqliteAdapter, dir: string, tickLock: boolean) {
  const path = join(dir, `board-${tickLock ? 'locked' : 'control'}.db`)
  await createBoardWithTasks(adapter, path, 0)
  const { child, next } = forkChild(path, adapter, tickLock)
  await next('ready')
  let answer: Message | undefined
  let childTicked: Promise<Message> | undefined
  const here = new Dispatcher({
    boards: [path],
    adapter,
    tickLock,
    spawn: () => {
      throw new Error('no tasks expected')
    },
    openBoard: tickLogBoard('here', async () => {
      if (answer) return
      childTicked = next('ticked')
      const first = next('begin', 'ticked')
      child.send({ type: 'tick' })
      answer = await first
    }),
  })
  cleanups.push(() => here.stop())
  const events = recordEvents(here)
  await here.tick()
  await childTicked
  expect(ofType(events, 'error')).toEqual([])
  return { answer: answer!, log: await tickLog(adapter, path), path, child, next, here, events }
}

describe('one dispatcher tick at a time per board', () => {
  // sql.js has no shared file, so no second process can share its board.
  for (const { name, create } of bundledAdapters.filter((entry) => entry.name !== 'sql.js')) {
    it(`${name}: a dispatcher in another process skips the board while this one is in its turn, and free-running ticks never overlap`, async () => {
      const adapter = await create()
      const dir = tempDir()

      // Control: without the lock, the child's turn begins inside ours.
      const control = await interleavedRound(adapter, dir, false)
      if (control.answer.type !== 'begin' || control.log.overlaps.length === 0) {
        throw new Error(`control did not reproduce the hazard: without the tick lock the turns did not overlap (${JSON.stringify(control.log.rows)})`)
      }

      // With the lock: the child skips the board that tick, and says so.
      const locked = await interleavedRound(adapter, dir, true)
      expect(locked.answer).toEqual({ type: 'ticked', skipped: 1 })
      expect(locked.log.overlaps).toEqual([])
      expect(locked.log.rows.map((row) => `${row.who}:${row.what}`)).toEqual(['here:begin', 'here:end'])
      expect(locked.here.status().boards[0]).toMatchObject({ skipped: 0 })

      // Both running ticks as fast as they can: every tick either ran its turn or skipped it, and no
      // turn began while the other's was open.
      const ticks = 40
      const ran = locked.next('ran')
      locked.child.send({ type: 'run', ticks })
      for (let i = 0; i < ticks; i += 1) await locked.here.tick()
      const { skipped: childSkipped } = await ran
      const { rows, overlaps } = await tickLog(adapter, locked.path)
      expect(overlaps).toEqual([])
      const begins = (who: string) => rows.filter((row) => row.who === who && row.what === 'begin').length
      const ends = (who: string) => rows.filter((row) => row.who === who && row.what === 'end').length
      expect(begins('here') + locked.here.status().boards[0]!.skipped).toBe(ticks + 1)
      expect(begins('child') + childSkipped! - 1).toBe(ticks)
      expect(ends('here')).toBe(begins('here'))
      expect(ends('child')).toBe(begins('child'))
      expect(ofType(locked.events, 'skipped').length).toBe(locked.here.status().boards[0]!.skipped)
      expect(ofType(locked.events, 'error')).toEqual([])
    })

    it(`${name}: a dispatcher killed with SIGKILL inside its turn does not stop the other (the kernel releases its lock)`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      await createBoardWithTasks(adapter, path, 0)
      const { child, closed, next } = forkChild(path, adapter, true, true)
      await next('ready')
      const begun = next('begin')
      child.send({ type: 'tick' })
      await begun

      const here = new Dispatcher({
        boards: [path],
        adapter,
        spawn: () => {
          throw new Error('no tasks expected')
        },
        openBoard: tickLogBoard('here'),
      })
      cleanups.push(() => here.stop())
      const events = recordEvents(here)
      // The child is stuck inside its turn, holding the lock: this dispatcher skips the board.
      await here.tick()
      expect(ofType(events, 'skipped')).toMatchObject([{ board: path, reason: 'locked' }])

      child.kill('SIGKILL')
      await closed
      events.length = 0
      await here.tick()
      expect(ofType(events, 'skipped')).toEqual([])
      expect(ofType(events, 'error')).toEqual([])
      const { rows } = await tickLog(adapter, path)
      expect(rows.map((row) => `${row.who}:${row.what}`)).toEqual(['child:begin', 'here:begin', 'here:end'])
    })
  }
})

import { afterEach, describe, expect, it } from 'vitest'
import { fork } from 'node:child_process'
import { copyFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Dispatcher, type SqliteAdapter } from '@kanban-db/core'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import { fingerprintFile, sameFingerprint } from '@kanban-db/core/internal'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { fileHash } from '../corruption/fixtures.js'
import { createBoardWithTasks, ForkedWorkers, ofType, recordEvents, withInjectedIoErrors } from './helpers.js'

const CORRUPTER = fileURLToPath(new URL('./fixtures/corrupt-board.mjs', import.meta.url))

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** Corrupts the board at `path` from a separate process; resolves with what that process saw. */
function corruptFromAnotherProcess(path: string, table = 'tasks', mode = ''): Promise<{ checkpoint: Record<string, number>; pages: number[]; quickCheck: string[]; hash: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(CORRUPTER, [path, table, mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    child.once('message', (message) => resolve(message as never))
    child.once('error', reject)
    // 'close' comes after the IPC channel has delivered everything ('exit' may come before).
    child.once('close', (code) => reject(new Error(`the corrupting process exited with ${code} without reporting`)))
  })
}

async function setUp(adapter: SqliteAdapter, boardNames: readonly string[], tasksPerBoard: number) {
  const dir = tempDir()
  const paths = boardNames.map((name) => join(dir, `${name}.db`))
  for (const path of paths) await createBoardWithTasks(adapter, path, tasksPerBoard, 'original')
  const workers = new ForkedWorkers()
  const clock = { now: 1_000_000 }
  const dispatcher = new Dispatcher({ boards: paths, adapter, spawn: workers.spawn, concurrency: 1, now: () => clock.now })
  const events = recordEvents(dispatcher)
  cleanups.push(async () => {
    await workers.killAll()
    await dispatcher.stop()
  })
  const boardOf = new Map<string, string>()
  dispatcher.on('spawned', (event) => boardOf.set(event.taskId, event.board))
  const runningOn = (path: string) => workers.running().filter((taskId) => boardOf.get(taskId) === path)
  return { dir, paths, workers, clock, dispatcher, events, runningOn }
}

describe('Dispatcher quarantine', () => {
  // Every adapter with a shared file (sql.js holds its board in memory: another process cannot corrupt it mid-run).
  for (const { name, create } of bundledAdapters.filter((entry) => entry.name !== 'sql.js')) {
    it(`${name}: a board corrupted mid-run is confirmed and quarantined, never written to, while the other boards keep dispatching; a good file put in its place recovers it without a restart`, async () => {
      const adapter = await create()
      const { dir, paths, workers, clock, dispatcher, events, runningOn } = await setUp(adapter, ['a', 'b', 'c'], 6)
      const [a, b, c] = paths as [string, string, string]
      await dispatcher.tick()
      expect(ofType(events, 'spawned').map((event) => event.board)).toEqual([a, b, c])

      // Control: the corruption is real. A separate process checkpoints, writes garbage over the pages
      // of the tasks table and its indexes, and a fresh quick_check must see it.
      const corruption = await corruptFromAnotherProcess(b)
      if (corruption.checkpoint.busy !== 0 || corruption.quickCheck.join() === 'ok') {
        throw new Error(`control did not reproduce the hazard: checkpoint ${JSON.stringify(corruption.checkpoint)}, quick_check ${corruption.quickCheck.join('; ')}`)
      }

      // The workers of a and c finish; b's worker keeps running through the quarantine.
      for (const path of [a, c]) for (const taskId of runningOn(path)) await workers.finish(taskId, 0)
      events.length = 0
      await dispatcher.tick()
      const quarantined = ofType(events, 'quarantined')
      expect(quarantined.map((event) => event.board)).toEqual([b])
      expect(quarantined[0]!.quarantine.reason).toMatch(/confirmed by a fresh read-only probe/)
      expect(quarantined[0]!.quarantine.nextProbeAt).toBe(clock.now + 30_000)
      expect(ofType(events, 'error').filter((event) => event.board === b).map((event) => event.kind)).toContain('corruption')
      expect(ofType(events, 'spawned').map((event) => event.board).sort()).toEqual([a, c])
      expect(dispatcher.status().boards.map((board) => board.state)).toEqual(['open', 'quarantined', 'open'])

      // Nothing is written to the quarantined file: not by waiting ticks, not by the probe, not by the
      // exit of its worker.
      // Not on its way in either: the file is byte for byte what the corrupting process left.
      expect(fileHash(b)).toBe(corruption.hash)
      const before = { hash: fileHash(b), fingerprint: fingerprintFile(b) }
      for (const taskId of runningOn(b)) await workers.finish(taskId, 0)
      for (const path of [a, c]) for (const taskId of runningOn(path)) await workers.finish(taskId, 0)
      events.length = 0
      await dispatcher.tick()
      expect(ofType(events, 'reaped').map((event) => event.board).sort()).toEqual([a, b, c])
      expect(ofType(events, 'probed')).toEqual([])
      expect(ofType(events, 'spawned').map((event) => event.board).sort()).toEqual([a, c])
      expect(dispatcher.status().boards[1]).toMatchObject({ state: 'quarantined', unrecorded: 1 })

      clock.now += 30_000
      events.length = 0
      await dispatcher.tick()
      const probed = ofType(events, 'probed')
      expect(probed.map((event) => [event.board, event.verdict])).toEqual([[b, 'corrupt']])
      expect(probed[0]!.quarantine.nextProbeAt).toBe(clock.now + 60_000)
      expect(fileHash(b)).toBe(before.hash)
      expect(sameFingerprint(fingerprintFile(b), before.fingerprint)).toBe(true)

      // Restore: a good board file is moved into place. The next tick sees the new file and recovers.
      const good = join(dir, 'restored.db')
      await createBoardWithTasks(adapter, good, 2, 'restored')
      renameSync(good, b)
      for (const path of [a, c]) for (const taskId of runningOn(path)) await workers.finish(taskId, 0)
      events.length = 0
      await dispatcher.tick()
      expect(ofType(events, 'recovered').map((event) => [event.board, event.how])).toEqual([[b, 'file-changed']])
      // The exit of the old worker belongs to a task the restored file does not have: dropped as stale.
      expect(ofType(events, 'recorded').filter((event) => event.board === b).map((event) => event.outcome)).toEqual(['stale'])
      expect(ofType(events, 'spawned').map((event) => event.board).sort()).toEqual([a, b, c])
      expect(dispatcher.status().boards.map((board) => board.state)).toEqual(['open', 'open', 'open'])
    })
  }

  it('a transient I/O error injected at the driver boundary is retried on the next tick, never quarantined', async () => {
    const { adapter, faults } = withInjectedIoErrors(await createBetterSqlite3())
    const { paths, workers, dispatcher, events } = await setUp(adapter, ['a', 'b'], 4)
    await dispatcher.tick()
    await workers.finishAll(0)

    faults.on = true
    events.length = 0
    await dispatcher.tick()
    await dispatcher.tick()
    const errors = ofType(events, 'error')
    // Control: the fault really reached the dispatcher, on every board, as SQLite's I/O error.
    if (faults.injected === 0 || errors.length === 0) throw new Error('control did not reproduce the hazard: no I/O error reached the dispatcher')
    expect(new Set(errors.map((event) => event.board))).toEqual(new Set(paths))
    expect(errors.every((event) => event.kind === 'transient')).toBe(true)
    expect(ofType(events, 'quarantined')).toEqual([])
    expect(dispatcher.status().boards.every((board) => board.state !== 'quarantined')).toBe(true)

    faults.on = false
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'error')).toEqual([])
    expect(ofType(events, 'recorded').map((event) => event.outcome)).toEqual(['written', 'written'])
    expect(ofType(events, 'spawned').map((event) => event.board)).toEqual(paths)
  })

  it('a corruption error that a fresh probe does not confirm is not quarantined; one it confirms is, and a later healthy probe lets it out', async () => {
    const real = await createBetterSqlite3()
    const injection = { match: /^$/ as RegExp, injected: 0 }
    const adapter = withStatementFault(real, injection, () => Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' }))
    const { workers, clock, dispatcher, events } = await setUp(adapter, ['a'], 4)
    cleanups.push(() => workers.killAll())

    // Only the claim statement fails: the probe's quick_check finds the file healthy.
    injection.match = /update "tasks"/i
    await dispatcher.tick()
    if (injection.injected === 0) throw new Error('control did not reproduce the hazard: the claim never met the injected corruption')
    expect(ofType(events, 'error').map((event) => event.kind)).toEqual(['corruption'])
    expect(ofType(events, 'quarantined')).toEqual([])
    expect(dispatcher.status().boards[0]!.state).toBe('closed')

    // Every statement fails, the probe's too: confirmed, quarantined.
    injection.match = /./
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'quarantined')).toHaveLength(1)

    // The fault is gone; after the backoff the probe is healthy and lets the board out.
    injection.match = /^$/
    clock.now += 30_000
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recovered').map((event) => event.how)).toEqual(['probe'])
    expect(ofType(events, 'spawned')).toHaveLength(1)
  })
  it('damage in pages no tick reads is found by the periodic check (checkEveryMs), and only by it', async () => {
    const adapter = await createBetterSqlite3()
    const dir = tempDir()
    const path = join(dir, 'board.db')
    await createBoardWithTasks(adapter, path, 6)
    const workers = new ForkedWorkers()
    cleanups.push(() => workers.killAll())
    const clock = { now: 1_000_000 }
    const unchecked = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, concurrency: 1, now: () => clock.now })
    const uncheckedEvents = recordEvents(unchecked)
    cleanups.push(() => unchecked.stop())
    await unchecked.tick()

    // The comments table: no dispatcher operation reads it.
    const corruption = await corruptFromAnotherProcess(path, 'comments')
    if (corruption.pages.length === 0 || corruption.quickCheck.join() === 'ok') {
      throw new Error(`control did not reproduce the hazard: pages ${corruption.pages.join()}, quick_check ${corruption.quickCheck.join('; ')}`)
    }
    await workers.finishAll(0)
    await unchecked.tick()
    // Control: without the periodic check the damaged board goes on as if nothing happened.
    if (ofType(uncheckedEvents, 'quarantined').length > 0 || ofType(uncheckedEvents, 'error').length > 0) {
      throw new Error('control did not reproduce the hazard: the dispatcher noticed the damage without the periodic check')
    }
    expect(ofType(uncheckedEvents, 'spawned')).toHaveLength(2)
    await workers.finishAll(0)
    await unchecked.stop()

    const checked = new Dispatcher({ boards: [path], adapter, spawn: workers.spawn, concurrency: 1, checkEveryMs: 60_000, now: () => clock.now })
    const events = recordEvents(checked)
    cleanups.push(() => checked.stop())
    await checked.tick()
    expect(ofType(events, 'quarantined')).toHaveLength(1)
    expect(ofType(events, 'quarantined')[0]!.quarantine.reason).toMatch(/periodic check/)
    expect(ofType(events, 'spawned')).toEqual([])
  })
  it('a board file that is not a database is quarantined at open, never initialised, and stays quarantined while its file is missing', async () => {
    const adapter = await createBetterSqlite3()
    const dir = tempDir()
    const good = join(dir, 'good.db')
    const notes = join(dir, 'notes.db')
    await createBoardWithTasks(adapter, good, 2)
    writeFileSync(notes, Buffer.alloc(8192, 'plain text notes, not a database. '))
    const before = fileHash(notes)
    const workers = new ForkedWorkers()
    const clock = { now: 1_000_000 }
    const dispatcher = new Dispatcher({ boards: [notes, good], adapter, spawn: workers.spawn, now: () => clock.now })
    const events = recordEvents(dispatcher)
    cleanups.push(async () => {
      await workers.killAll()
      await dispatcher.stop()
    })
    await dispatcher.tick()
    expect(ofType(events, 'error').map((event) => [event.phase, event.code])).toEqual([['open', 'NOT_A_DATABASE']])
    expect(ofType(events, 'quarantined').map((event) => event.board)).toEqual([notes])
    expect(ofType(events, 'spawned').map((event) => event.board)).toEqual([good, good])
    expect(fileHash(notes)).toBe(before)

    rmSync(notes)
    clock.now += 3_600_000
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recovered')).toEqual([])
    expect(dispatcher.status().boards[0]!.state).toBe('quarantined')
    expect(fingerprintFile(notes).exists).toBe(false)
  })
  it('a restored file is not opened while the -wal of the damaged file lies beside it (it would replay old pages onto it); removing it lets the board out', async () => {
    const adapter = await createBetterSqlite3()
    const { dir, paths, workers, dispatcher, events } = await setUp(adapter, ['b'], 4)
    const [b] = paths as [string]
    await dispatcher.tick()
    const corruption = await corruptFromAnotherProcess(b, 'tasks', 'leave-wal')
    if (corruption.quickCheck.join() === 'ok') throw new Error('control did not reproduce the hazard: quick_check still says ok')
    await workers.finishAll(0)
    await dispatcher.tick()
    expect(ofType(events, 'quarantined')).toHaveLength(1)
    const staleWalBytes = fingerprintFile(`${b}-wal`).size
    if (staleWalBytes === '' || staleWalBytes === '0') throw new Error('control did not reproduce the hazard: the damaged board left no -wal')

    const good = join(dir, 'restored.db')
    await createBoardWithTasks(adapter, good, 3, 'restored')
    renameSync(good, b)

    // Control: opening the restored file with the stale -wal beside it (on a copy of the three
    // files) does not give the restored board back.
    const scratch = join(dir, 'scratch')
    mkdirSync(scratch)
    for (const suffix of ['', '-wal', '-shm']) copyFileSync(`${b}${suffix}`, join(scratch, `b.db${suffix}`))
    // The damaged file's last commit (a table named `unrelated`) must not show up in the restored board.
    const seen = await openCopyAndLook(adapter, join(scratch, 'b.db'))
    if (seen.quickCheck === 'ok' && !seen.tables.includes('unrelated') && seen.titles.every((title) => title.startsWith('restored'))) {
      throw new Error(`control did not reproduce the hazard: the stale -wal did not change the restored board (${JSON.stringify(seen)})`)
    }

    // Protection: the board stays closed, with an error that says what to remove.
    const restoredHash = fileHash(b)
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recovered')).toEqual([])
    expect(ofType(events, 'error').map((event) => event.code)).toEqual(['STALE_SIDECAR'])
    expect(dispatcher.status().boards[0]!.state).toBe('quarantined')
    expect(fileHash(b)).toBe(restoredHash)

    rmSync(`${b}-wal`)
    rmSync(`${b}-shm`, { force: true })
    events.length = 0
    await dispatcher.tick()
    expect(ofType(events, 'recovered').map((event) => event.how)).toEqual(['file-changed'])
    expect(ofType(events, 'spawned')).toHaveLength(1)
    const after = await openCopyAndLook(adapter, b)
    expect(after.quickCheck).toBe('ok')
    expect(after.titles.every((title) => title.startsWith('restored'))).toBe(true)
    expect(after.tables).not.toContain('unrelated')
  })
})

/** Opens `path` with a fresh connection: quick_check, the tables and the task titles it sees (or the error). */
async function openCopyAndLook(adapter: SqliteAdapter, path: string): Promise<{ quickCheck: string; tables: string[]; titles: string[] }> {
  let connection: SqliteConnection | undefined
  try {
    connection = await adapter.open(path)
    const quickCheck = connection.prepare('PRAGMA quick_check').all([]).map((row) => String(Object.values(row)[0])).join('; ')
    const tables = connection.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all([]).map((row) => String(row.name))
    let titles: string[]
    try {
      titles = connection.prepare('SELECT title FROM tasks').all([]).map((row) => String(row.title))
    } catch (error) {
      titles = [`error: ${(error as Error).message}`]
    }
    return { quickCheck, tables, titles }
  } catch (error) {
    return { quickCheck: `error: ${(error as Error).message}`, tables: [], titles: [] }
  } finally {
    connection?.close()
  }
}

/** Wraps an adapter so statements whose SQL matches `injection.match` throw `makeError()` when run. */
function withStatementFault(adapter: SqliteAdapter, injection: { match: RegExp; injected: number }, makeError: () => Error): SqliteAdapter {
  const fail = (): never => {
    injection.injected += 1
    throw makeError()
  }
  return {
    ...adapter,
    open: async (path, options) => {
      const connection = await adapter.open(path, options)
      return {
        get path() {
          return connection.path
        },
        get isOpen() {
          return connection.isOpen
        },
        get inTransaction() {
          return connection.inTransaction
        },
        prepare: (sql) => {
          const statement = connection.prepare(sql)
          return {
            get reader() {
              return statement.reader
            },
            all: (parameters) => (injection.match.test(sql) ? fail() : statement.all(parameters)),
            run: (parameters) => (injection.match.test(sql) ? fail() : statement.run(parameters)),
            finalize: () => statement.finalize(),
          }
        },
        exec: (sql) => connection.exec(sql),
        backup: (destination) => connection.backup(destination),
        close: () => connection.close(),
      }
    },
    probeJournalMode: (connection) => adapter.probeJournalMode(connection),
    setPragma: (connection, name, value) => adapter.setPragma(connection, name, value),
    acquireLock: (lockPath, options) => adapter.acquireLock(lockPath, options),
  }
}

import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import createBetterSqlite3Adapter from '@kanban-db/adapter-better-sqlite3'
import createSqlJsAdapter from '@kanban-db/adapter-sql-js'
import type { Board } from '@kanban-db/core'
import {
  ALL_ENGINES, NO_POSTGRES_SERVER, runCase, spawnChildTask, spawnWorkerTask, type BoardSpec, type ConformanceCase, type PostgresSubject, type TaskHandle,
} from '@kanban-db/conformance'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const moduleName = '@kanban-db/adapter-sql-js'
const adapter = await createSqlJsAdapter()

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function caseOf(run: ConformanceCase['run'], overrides: Partial<ConformanceCase> = {}): ConformanceCase {
  return { id: 'framework.probe', title: 'probe', tier: 'core', requires: [], timeoutMs: 20_000, run, ...overrides }
}

describe('child tasks', () => {
  it('exchange messages with a child process that loads the adapter by name', async () => {
    const child = spawnChildTask<{ echoed: number }>('echo', {}, { moduleName, resolveFrom: root })
    expect(await child.receive()).toMatchObject({ hello: 'sql.js', pid: child.pid })
    child.send({ n: 1 })
    expect(await child.receive()).toEqual({ n: 1 })
    child.send('stop')
    expect(await child.result).toEqual({ echoed: 1 })
    expect(await child.exited).toEqual({ code: 0, signal: null })
  })

  it('exchange messages with a worker thread that loads the adapter by name', async () => {
    const worker = spawnWorkerTask<{ echoed: number }>('echo', {}, { moduleName, resolveFrom: root })
    expect(await worker.receive()).toMatchObject({ hello: 'sql.js', pid: process.pid })
    worker.send('x')
    expect(await worker.receive()).toBe('x')
    worker.send('stop')
    expect(await worker.result).toEqual({ echoed: 1 })
  })

  it('report a child killed before its result as an error naming the signal', async () => {
    const child = spawnChildTask('echo', { hang: true }, { moduleName, resolveFrom: root })
    await child.receive()
    await child.kill('SIGKILL')
    await expect(child.result).rejects.toThrow(/signal SIGKILL/)
    await expect(child.receive()).rejects.toThrow(/ended/)
  })
})

describe('runCase', () => {
  it('reaps every child and worker when the case fails', async () => {
    let spawned: TaskHandle[] = []
    const result = await runCase(
      caseOf(async (context) => {
        spawned = [context.spawn('echo', { hang: true }), context.spawn('echo', { hang: true }), context.spawnWorker('echo', { hang: true })]
        await Promise.all(spawned.map((handle) => handle.receive()))
        throw new Error('the case failed on purpose')
      }),
      adapter,
      moduleName,
      { resolveFrom: root },
    )
    expect(result).toMatchObject({ status: 'fail', detail: 'Error: the case failed on purpose' })
    expect(spawned.map((handle) => isAlive(handle.pid)).slice(0, 2)).toEqual([false, false])
    const exits = await Promise.all(spawned.map((handle) => handle.exited))
    expect(exits.slice(0, 2).map((exit) => exit.signal)).toEqual(['SIGKILL', 'SIGKILL'])
  })

  it('reaps children and reports the timeout when a case hangs', async () => {
    let pid = 0
    const result = await runCase(
      caseOf(
        async (context) => {
          const child = context.spawn('echo', { hang: true }, { timeoutMs: 60_000 })
          pid = ((await child.receive()) as { pid: number }).pid
          // Tell the test the child is up, then hang like a deadlocked case would.
          await new Promise(() => {})
        },
        { timeoutMs: 3_000 },
      ),
      adapter,
      moduleName,
      { resolveFrom: root },
    )
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/did not finish within 3000 ms/)
    expect(pid).toBeGreaterThan(0)
    expect(isAlive(pid)).toBe(false)
  })

  it('gives each case its own temporary directory and removes it', async () => {
    const dirs: string[] = []
    const probe = caseOf(async (context) => {
      dirs.push(context.dir)
    })
    await runCase(probe, adapter, moduleName)
    await runCase(probe, adapter, moduleName)
    expect(dirs[0]).not.toBe(dirs[1])
    const { existsSync } = await import('node:fs')
    expect(dirs.map((dir) => existsSync(dir))).toEqual([false, false])
  })

  it('turns a known failure into xfail, and a known failure that passes into xpass', async () => {
    const known = { ...adapter, knownFailures: { 'framework.probe': 'driver bug #1' } }
    const failing = await runCase(caseOf(async () => { throw new Error('boom') }), known, moduleName)
    expect(failing).toMatchObject({ status: 'xfail', detail: 'known failure (driver bug #1): Error: boom' })
    const passing = await runCase(caseOf(async () => {}), known, moduleName)
    expect(passing.status).toBe('xpass')
    expect(passing.detail).toMatch(/remove it from knownFailures/)
  })

  it('skips with the missing capability named', async () => {
    const result = await runCase(caseOf(async () => {}, { requires: ['sharedFile', 'wal'] }), adapter, moduleName)
    expect(result).toMatchObject({ status: 'skip', detail: 'adapter lacks sharedFile, wal' })
  })
})

describe('a child task that fails before its first message', () => {
  it('rejects receive() with the task\'s own error, not just its exit code', async () => {
    const child = spawnChildTask('no-such-task', {}, { moduleName, resolveFrom: root })
    await expect(child.receive()).rejects.toThrow(/failed: Error: no child task 'no-such-task'/)
    const worker = spawnWorkerTask('no-such-task', {}, { moduleName, resolveFrom: root })
    await expect(worker.receive()).rejects.toThrow(/failed: Error: no child task 'no-such-task'/)
  })
})

/** A Postgres subject that never reaches a server: for what the runner decides before any SQL. */
function offlinePostgres(overrides: Partial<PostgresSubject> = {}): PostgresSubject {
  return {
    engine: 'postgres',
    name: 'postgres',
    moduleName: '@kanban-db/adapter-postgres',
    resolveFrom: root,
    postgres: () => {
      throw new Error('no engine in this test')
    },
    connectionString: 'postgresql://nobody@localhost/nothing',
    serverVersion: '15.0',
    driverVersion: '0',
    unavailable: undefined,
    ...overrides,
  }
}

describe('the case board', () => {
  it('is a file in the case directory on SQLite, the same for one name, opened by the case and by its children', async () => {
    // better-sqlite3: the child must see the file the case wrote (sql.js keeps its own image).
    const shared = await createBetterSqlite3Adapter()
    const sharedModule = '@kanban-db/adapter-better-sqlite3'
    const specs: BoardSpec[] = []
    let left: Board | undefined
    let read: { engine: string; ids: string[] } | undefined
    const result = await runCase(
      caseOf(async (context) => {
        specs.push(context.boardSpec(), context.boardSpec('board'), context.boardSpec('other'))
        left = await context.openBoard()
        await left.createTask({ id: 'seen-by-child', title: 'x' })
        read = await context.child('board-read', { board: context.boardSpec() })
      }),
      shared,
      sharedModule,
      { resolveFrom: root },
    )
    expect(result).toMatchObject({ status: 'pass' })
    expect(specs[0]).toEqual({ engine: 'sqlite', moduleName: sharedModule, resolveFrom: root, path: expect.stringMatching(/kanban-conformance-framework\.probe-.*\/board\.db$/) })
    expect(specs[1]).toEqual(specs[0])
    expect(specs[2]).toMatchObject({ engine: 'sqlite', path: expect.stringMatching(/\/other\.db$/) })
    expect(read).toEqual({ engine: 'sqlite', ids: ['seen-by-child'] })
    // The runner closed the board the case left open.
    await expect(left!.createTask({ title: 'late' })).rejects.toMatchObject({ code: 'BOARD_CLOSED' })
  })

  it('on Postgres, has no SQLite adapter: a case that reads context.adapter fails saying why', async () => {
    const result = await runCase(
      caseOf(
        async (context) => {
          expect(context.engine).toBe('postgres')
          void context.adapter
        },
        { engines: ALL_ENGINES },
      ),
      offlinePostgres(),
    )
    expect(result.status).toBe('fail')
    expect(result.detail).toMatch(/used context\.adapter on postgres, which has no SQLite adapter/)
  })

  it('on Postgres, skips a SQLite-only case saying so, and every case without a server with the reason', async () => {
    const sqliteOnly = caseOf(async () => {})
    expect(await runCase(sqliteOnly, offlinePostgres())).toMatchObject({ status: 'skip', detail: "tests SQLite's file and driver; not applicable to postgres" })
    const everyEngine = caseOf(async () => {}, { engines: ALL_ENGINES })
    expect(await runCase(everyEngine, offlinePostgres({ connectionString: undefined, unavailable: NO_POSTGRES_SERVER }))).toMatchObject({
      status: 'skip',
      detail: NO_POSTGRES_SERVER,
    })
  })
})

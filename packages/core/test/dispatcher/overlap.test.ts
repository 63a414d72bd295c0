import { afterEach, describe, expect, it } from 'vitest'
import { fork, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { Dispatcher, openBoard, workerFromChildProcess, type SqliteBoard as Board, type ClaimOptions, type SqliteAdapter } from '@kanban-db/core'
import createBetterSqlite3 from '@kanban-db/adapter-better-sqlite3'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { createBoardWithTasks } from './helpers.js'
// @ts-expect-error a plain .mjs helper shared with the child process
import { runUntilIdle, shellWorker } from './fixtures/run-until-idle.mjs'

const CHILD = fileURLToPath(new URL('./fixtures/dispatcher-child.mjs', import.meta.url))

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>()
  return ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false)))
}

/** A board whose claimNext reads the next ready task, yields, then marks it running: no arbitration. */
async function openWithUnarbitratedClaims(path: string, adapter: SqliteAdapter): Promise<Board> {
  const board = await openBoard({ path, adapter })
  const claimNext = async (_options: ClaimOptions) => {
    const [task] = await board.listTasks({ status: 'ready', limit: 1 })
    if (!task) return undefined
    await new Promise((resolve) => setImmediate(resolve))
    await board.writeTxn((trx) => trx.updateTable('tasks').set({ status: 'running' }).where('id', '=', task.id).execute())
    return { ...task, claimToken: 'unarbitrated', runId: 'unarbitrated' }
  }
  return new Proxy(board, {
    get(target, property) {
      if (property === 'claimNext') return claimNext
      const value = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * The control: the same two dispatchers with claims that do not arbitrate (read, yield, write)
 * spawn tasks twice, and the duplicate check sees it.
 */
async function runUnarbitratedControl(adapter: SqliteAdapter, dir: string): Promise<void> {
  const controlPath = join(dir, 'control.db')
  await createBoardWithTasks(adapter, controlPath, 20)
  const controlSpawned: string[] = []
  const control = [0, 1].map(
    () =>
      new Dispatcher({
        boards: [controlPath],
        adapter,
        concurrency: 4,
        // Both in this process on one board: the tick lock would take turns, and claims must arbitrate on their own.
        tickLock: false,
        openBoard: openWithUnarbitratedClaims,
        spawn: (task) => {
          controlSpawned.push(task.id)
          return workerFromChildProcess(shellWorker(spawn, task.id, join(dir, 'control.log')))
        },
      }),
  )
  await Promise.all(control.map((dispatcher) => dispatcher.tick()))
  await Promise.all(control.map((dispatcher) => dispatcher.stop({ drain: true })))
  if (duplicates(controlSpawned).length === 0) {
    throw new Error(`control did not reproduce the hazard: unarbitrated claims spawned ${controlSpawned.length} tasks without a duplicate`)
  }
}

describe('two dispatchers on one board', () => {
  // Both dispatchers on the same adapter; sql.js has no shared file, so no second process can share its board.
  for (const { name, create } of bundledAdapters.filter((entry) => entry.name !== 'sql.js')) {
    it(`${name}: never double-spawn: 200 tasks, one dispatcher here and one in another process, claims arbitrate`, async () => {
      const adapter = await create()
      const dir = tempDir()
      const logPath = join(dir, 'spawned.log')
      await runUnarbitratedControl(adapter, dir)

      // The real thing: 200 ready tasks, two dispatchers claiming concurrently from two processes.
      const path = join(dir, 'board.db')
      await createBoardWithTasks(adapter, path, 200)
      const child = fork(CHILD, [path, logPath, adapter.identity.moduleName], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
      cleanups.push(() => {
        if (child.exitCode === null) child.kill('SIGKILL')
      })
      const childMessage = (type: string) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const onMessage = (message: Record<string, unknown>) => {
            if (message?.type === type) {
              child.off('message', onMessage)
              resolve(message)
            }
          }
          child.on('message', onMessage)
          // 'close' comes after the IPC channel has delivered everything ('exit' may come before).
          child.once('close', (code) => reject(new Error(`the dispatcher child exited with ${code} before '${type}'`)))
        })
      await childMessage('ready')

      const spawnedHere: string[] = []
      const here = new Dispatcher({
        boards: [path],
        adapter,
        concurrency: 8,
        spawn: (task) => {
          spawnedHere.push(task.id)
          return workerFromChildProcess(shellWorker(spawn, task.id, logPath))
        },
      })
      cleanups.push(() => here.stop())
      const childDone = childMessage('done')
      child.send({ type: 'go' })
      await runUntilIdle(here)
      await here.stop({ drain: true })
      const { spawned: spawnedThere } = (await childDone) as { spawned: string[] }

      const all = [...spawnedHere, ...spawnedThere]
      expect(duplicates(all)).toEqual([])
      expect(all).toHaveLength(200)
      // How the 200 split between the two dispatchers is up to the scheduler (a starved child may
      // get none on a loaded machine); the invariants above and below do not depend on it.
      const logged = readFileSync(logPath, 'utf8').trim().split('\n')
      expect(duplicates(logged)).toEqual([])
      expect(new Set(logged)).toEqual(new Set(all))

      const board = await openBoard({ path, adapter })
      try {
        expect((await board.health()).tasks.done).toBe(200)
        const runs = await sql<{ runs: number; tasks: number }>`select count(*) as runs, count(distinct task_id) as tasks from task_runs`.execute(board.db)
        expect(runs.rows[0]).toEqual({ runs: 200, tasks: 200 })
      } finally {
        await board.close()
      }
    })
  }
})

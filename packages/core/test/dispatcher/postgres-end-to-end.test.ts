import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { postgres } from '@kanban-db/adapter-postgres'
import { Dispatcher, workerFromChildProcess } from '@kanban-db/core'
import { ofType, recordEvents } from './helpers.js'
import { afterTest, describePostgres, freshPostgresBoard, serverUrl } from './postgres.js'

const WORKER = fileURLToPath(new URL('./fixtures/postgres-worker.mjs', import.meta.url))
const TASKS = 6

describePostgres('Dispatcher on a Postgres board, end to end', () => {
  it('claims every task, runs a real worker process for each, and completes each task once from its exit', async () => {
    const target = freshPostgresBoard()
    const board = await target.open()
    const created = await board.createTasks(Array.from({ length: TASKS }, (_, i) => ({ title: `job ${i}` })))
    const pids = new Map<string, number | undefined>()
    const dispatcher = new Dispatcher({
      boards: [{ name: 'jobs', engine: postgres({ connectionString: serverUrl(), schema: target.schema, poolSize: 2 }) }],
      concurrency: 3,
      intervalMs: 50,
      spawn: (task, taskBoard) => {
        expect(taskBoard.engine).toBe('postgres')
        const child = fork(WORKER, [serverUrl(), target.schema, task.id], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
        pids.set(task.id, child.pid)
        return workerFromChildProcess(child)
      },
    })
    afterTest(() => dispatcher.stop())
    const events = recordEvents(dispatcher)
    let recorded = 0
    const allRecorded = new Promise<void>((resolve) => dispatcher.on('recorded', () => ++recorded === TASKS && resolve()))
    dispatcher.start()
    await allRecorded
    await dispatcher.stop()

    expect(ofType(events, 'error')).toEqual([])
    expect(ofType(events, 'recorded').map((event) => [event.decision.action, event.outcome])).toEqual(Array.from({ length: TASKS }, () => ['complete', 'written']))
    expect(ofType(events, 'spawned').map((event) => event.taskId).sort()).toEqual(created.map((task) => task.id).sort())
    expect(dispatcher.status().boards).toMatchObject([{ path: 'jobs', engine: 'postgres', state: 'closed', workers: 0, spawned: TASKS, unrecorded: 0 }])
    expect((await board.health()).tasks).toMatchObject({ done: TASKS, running: 0, ready: 0 })
    for (const task of created) {
      // One claim each, completed; the work was done by the process spawned for it.
      expect((await board.runs(task.id)).map((run) => [run.workerId, run.outcome])).toEqual([[dispatcher.workerId, 'completed']])
      expect((await board.comments(task.id)).map((comment) => comment.body)).toEqual([`worked on by pid ${pids.get(task.id)}`])
    }
  })
})

import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { postgres } from '@kanban-db/adapter-postgres'
import { Dispatcher, type WorkerExit } from '@kanban-db/core'
import { ofType, recordEvents, waitFor } from './helpers.js'
import { afterTest, describePostgres, freshPostgresBoard, serverUrl, tickLockHolder } from './postgres.js'

const CHILD = fileURLToPath(new URL('./fixtures/postgres-dispatcher-child.mjs', import.meta.url))

type Message = { type: string; title?: string; message?: string }

function nextMessage(child: ChildProcess, type: string): Promise<Message> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Message) => {
      if (message?.type === 'error') reject(new Error(`the child dispatcher reported: ${message.message}`))
      if (message?.type === type) {
        child.off('message', onMessage)
        resolve(message)
      }
    }
    child.on('message', onMessage)
    child.once('close', (code) => reject(new Error(`the child exited with ${code} before '${type}'`)))
  })
}

describePostgres('Dispatcher on a Postgres board: a dead holder', () => {
  it('a dispatcher killed with SIGKILL inside its turn does not stop the other (the server drops its session and the lock with it)', async () => {
    const target = freshPostgresBoard()
    const board = await target.open()
    await board.createTasks([{ title: 'first', priority: 2 }, { title: 'second', priority: 1 }])
    const child = fork(CHILD, [serverUrl(), target.schema], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
    afterTest(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await closed
    })
    await nextMessage(child, 'ready')
    const begun = nextMessage(child, 'begin')
    child.send({ type: 'tick' })
    expect(await begun).toMatchObject({ title: 'first' })

    const spawned: string[] = []
    const here = new Dispatcher({
      boards: [{ name: 'board', engine: postgres({ connectionString: serverUrl(), schema: target.schema, poolSize: 2 }) }],
      concurrency: 1,
      // However slow the machine, the dead dispatcher's claim stays within the crash grace here.
      graceMs: 600_000,
      spawn: (task) => {
        spawned.push(task.title)
        return { pid: undefined, exit: new Promise<WorkerExit>(() => {}), kill: () => {} }
      },
    })
    afterTest(() => here.stop({ leaveWorkersRunning: true }))
    const events = recordEvents(here)
    // The child is stuck inside its turn, holding the lock: this dispatcher skips the board.
    await here.tick()
    expect(ofType(events, 'skipped')).toMatchObject([{ board: 'board', reason: 'locked' }])
    expect(spawned).toEqual([])

    child.kill('SIGKILL')
    await closed
    // The server notices the closed connection and ends the session; then the lock is free.
    const admin = await target.open()
    await waitFor('the dead dispatcher\'s session to end', async () => (await tickLockHolder(admin, target.schema)) === undefined)
    events.length = 0
    await here.tick()
    expect(ofType(events, 'skipped')).toEqual([])
    expect(ofType(events, 'error')).toEqual([])
    // The dead dispatcher's claim stays its own until its lease runs out or, past the crash grace,
    // detectCrashedWorkers finds its pid gone: this dispatcher takes the other task.
    expect(spawned).toEqual(['second'])
  })
})

import type { Board, TaskWorker } from '@kanban-db/core'
import { sharedNow } from '../clock.ts'
import { benchAdapter, useAdapter } from '../board-client.ts'
import { cpuMsNow } from '../work-latency.ts'
import { openCandidateBoard } from './wake-sources.ts'
import type { FromWakeChild, ToWakeChild, WakeInit } from './wake-protocol.ts'

/**
 * One idle worker process of the `work-wake` scenario (W2, W4; forked by scenarios/work-wake.ts):
 * opens its board with one wake-up candidate, runs `board.work` with `concurrency` slots whose
 * handler tells the coordinator when it started a task, answers CPU marks, and on `stop` stops the
 * worker and reports. The `none` candidate opens the board and runs no worker.
 */
const send = (message: FromWakeChild): Promise<void> =>
  new Promise((resolve, reject) => {
    process.send!(message, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve()))
  })
const post = (message: FromWakeChild): void => {
  if (process.connected) process.send!(message, undefined, {}, () => {})
}
const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))

let finished = false
process.on('disconnect', () => {
  if (!finished) process.exit(1)
})

let board: Board | undefined
let worker: TaskWorker | undefined
const failures: string[] = []

process.on('message', (message: ToWakeChild) => {
  if (message.type === 'init') {
    void start(message).catch(async (error: unknown) => {
      await send({ type: 'fatal', message: describe(error) }).catch(() => {})
      process.exit(1)
    })
  } else if (message.type === 'mark') {
    post({ type: 'mark', cpuMs: cpuMsNow(), at: sharedNow() })
  } else {
    void finish()
  }
})

async function start(init: WakeInit): Promise<void> {
  useAdapter(init.adapterModule)
  board = await openCandidateBoard(init.candidate, init.path, await benchAdapter())
  if (init.candidate !== 'none') {
    const wakes: number[] = []
    board.onWake(() => {
      wakes.push(sharedNow())
      if (wakes.length > 16) wakes.shift()
    })
    worker = board.work({ workerId: `wake-${init.candidate}`, concurrency: init.concurrency }, (task) => {
      post({ type: 'started', id: task.id, at: sharedNow(), wakes: [...wakes] })
    })
    worker.on('error', ({ error, phase }) => void failures.push(`board.work ${phase}: ${describe(error)}`))
    worker.on('lost', ({ taskId, kind }) => void failures.push(`board.work lost task ${taskId} (${kind})`))
  }
  await send({ type: 'ready' })
}

async function finish(): Promise<void> {
  const summary = await worker?.stop()
  await board?.close()
  finished = true
  await send({ type: 'report', completed: summary?.completed ?? 0, failures: failures.slice(0, 10) })
  process.disconnect()
}

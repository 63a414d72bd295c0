import type { Board, TaskWorker, WorkerEventMap } from '@kanban-db/core'
import { afterEach } from 'vitest'
import type { EngineSubject } from '../engines.js'
import type { SqliteAdapter } from '@kanban-db/core'
import { openTestBoard } from '../board/helpers.js'

/**
 * A board for worker tests: on the real clock (the worker's timers and the board's times must
 * agree: a backoff stored as a time must pass), closed after the test. Workers it started are
 * stopped first.
 */
export async function openWorkerBoard(subject: SqliteAdapter | EngineSubject): Promise<Board> {
  const { board } = await openTestBoard(subject, { clock: undefined })
  return board
}

/** Stops `worker` after the test even when the test failed. */
export function stopAfterTest(worker: TaskWorker): TaskWorker {
  afterEach(() => worker.stop({ timeoutMs: 0 }).then(() => undefined))
  return worker
}

/** Waits until `condition` holds, looking every 10 ms; fails after `deadlineMs` saying what it waited for. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out after ${deadlineMs} ms waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Every event of the given kinds a worker emits, in order. */
export function record<E extends keyof WorkerEventMap>(worker: TaskWorker, ...types: E[]): Array<{ type: E; event: WorkerEventMap[E] }> {
  const seen: Array<{ type: E; event: WorkerEventMap[E] }> = []
  for (const type of types) worker.on(type, (event) => seen.push({ type, event }))
  return seen
}

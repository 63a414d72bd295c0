import { hostname } from 'node:os'
import { openBoard, type SqliteAdapter } from '@kanban-db/core'
import type { TaskChannel } from '../task-channel.js'

/** What a crash writer acknowledges over IPC. */
export type CrashWriterAck =
  | { readonly kind: 'ready'; readonly pid: number }
  | { readonly kind: 'created'; readonly id: string }
  | { readonly kind: 'claimed'; readonly id: string }

/**
 * A writer that is meant to be killed with SIGKILL at a random point. It writes to the board in a
 * loop (single creates, batches, claims with a lease) and acknowledges each write over IPC only
 * after the call that committed it returned, the way a real worker reports progress.
 *
 * `mode: 'ack-before-commit'` is the control: it acknowledges a task from INSIDE its still-open
 * transaction and waits there, so a kill at that point loses an acknowledged write, which the
 * parent's check must see.
 */
export async function crashWriter(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const board = await openBoard({ path: String(args.path), adapter })
  const ack = (message: CrashWriterAck) => channel.send(message)
  await ack({ kind: 'ready', pid: process.pid })
  if (args.mode === 'ack-before-commit') {
    await board.writeTxn(async () => {
      const task = await board.createTask({ title: 'acknowledged before its commit' })
      await ack({ kind: 'created', id: task.id })
      await channel.receive() // never comes: the parent kills this process here
    })
  }
  const claim = { workerId: `crash-writer-${process.pid}`, pid: process.pid, host: hostname(), leaseMs: Number(args.leaseMs) }
  for (let round = 0; ; round++) {
    const task = await board.createTask({ title: `single ${round}`, body: 'x'.repeat(round % 7 === 0 ? 4_000 : 100) })
    await ack({ kind: 'created', id: task.id })
    if (round % 4 === 1) {
      const batch = await board.createTasks(Array.from({ length: 5 }, (_, index) => ({ title: `batch ${round}.${index}` })))
      for (const created of batch) await ack({ kind: 'created', id: created.id })
    }
    if (round % 3 === 2) {
      const claimed = await board.claimNext(claim)
      if (claimed) await ack({ kind: 'claimed', id: claimed.id })
    }
  }
}

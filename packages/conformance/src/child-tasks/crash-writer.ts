import { hostname } from 'node:os'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { boardSpecArg, openSpecBoard } from '../board-spec.js'
import type { TaskChannel } from '../task-channel.js'

/** What a crash writer acknowledges over IPC. */
export type CrashWriterAck =
  | { readonly kind: 'ready'; readonly pid: number }
  | { readonly kind: 'created'; readonly id: string }
  | { readonly kind: 'claimed'; readonly id: string }

/** The batch size of the writer's `createTasks` (a batch is all or nothing). */
export const CRASH_WRITER_BATCH = 5

/**
 * A writer that is meant to be killed with SIGKILL at a random point. It writes to the case's board
 * (`args.board`, on any engine) in a loop (single creates, batches of {@link CRASH_WRITER_BATCH}
 * titled `batch <round>.<index>`, claims with a lease) and acknowledges each write over IPC only
 * after the call that committed it returned, the way a real worker reports progress.
 *
 * Two controls, each acknowledging and then waiting for a message that never comes, so the kill
 * lands exactly there (ordered by IPC, not by timing):
 * - `mode: 'ack-before-commit'` acknowledges a task from INSIDE its still-open transaction, so the
 *   kill loses an acknowledged write, which the parent's check must see;
 * - `mode: 'half-batch'` writes a batch one task per transaction (no batch transaction), and is
 *   killed after 2 of its 5 tasks, so the board holds a half-applied batch, which the parent's row
 *   check must see.
 *
 * Raw API on purpose (`createTask`, `createTasks`, `claimNext`): the case is about which single
 * writes survive a kill, each acknowledged right after its own commit, not about a worker loop.
 */
export async function crashWriter(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const board = await openSpecBoard(boardSpecArg(args), { adapter })
  const ack = (message: CrashWriterAck) => channel.send(message)
  await ack({ kind: 'ready', pid: process.pid })
  if (args.mode === 'ack-before-commit') {
    await board.writeTxn(async () => {
      const task = await board.createTask({ title: 'acknowledged before its commit' })
      await ack({ kind: 'created', id: task.id })
      await channel.receive() // never comes: the parent kills this process here
    })
  }
  if (args.mode === 'half-batch') {
    for (let index = 0; index < 2; index++) {
      const task = await board.createTask({ title: `batch control.${index}` })
      await ack({ kind: 'created', id: task.id })
    }
    await channel.receive() // never comes: the parent kills this process here, 3 tasks short
  }
  const claim = { workerId: `crash-writer-${process.pid}`, pid: process.pid, host: hostname(), leaseMs: Number(args.leaseMs) }
  for (let round = 0; ; round++) {
    const task = await board.createTask({ title: `single ${round}`, body: 'x'.repeat(round % 7 === 0 ? 4_000 : 100) })
    await ack({ kind: 'created', id: task.id })
    if (round % 4 === 1) {
      const batch = await board.createTasks(Array.from({ length: CRASH_WRITER_BATCH }, (_, index) => ({ title: `batch ${process.pid}-${round}.${index}` })))
      for (const created of batch) await ack({ kind: 'created', id: created.id })
    }
    if (round % 3 === 2) {
      const claimed = await board.claimNext(claim)
      if (claimed) await ack({ kind: 'claimed', id: claimed.id })
    }
  }
}

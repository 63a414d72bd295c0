import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'
import { errorCode, errorLine, openPostgresBoard, postgresSpecArg } from './postgres-board.js'

/** What the pinned worker sends, in order: its claim, then (honest) that its completion is in flight or (control) its acknowledgement. */
export type PinnedMessage =
  | { readonly kind: 'claimed'; readonly id: string }
  | { readonly kind: 'in-flight'; readonly id: string }
  | { readonly kind: 'completed'; readonly id: string }

/** What it returns: the completions it counts as done, and the errors it met on the way. */
export interface PinnedResult {
  readonly acknowledged: readonly string[]
  /** Codes of the errors its completion met (ConnectionLost, each retried by the honest worker; swallowed by the control). */
  readonly errors: readonly string[]
  readonly errorSamples: readonly string[]
}

/**
 * A worker of `postgres.server-restart-mid-fleet` whose completion is pinned in flight across the
 * server's restart, so the restart hits an open write for certain. It claims the board's first ready
 * task and says `claimed`; on the parent's `complete` it completes it inside a write transaction,
 * and there, before the COMMIT, it waits for the parent's `go` (the parent restarts the server
 * first); then the transaction commits, or fails.
 *
 * `mode: 'honest'` says `in-flight` while it waits and counts the completion only once a call
 * returned: on ConnectionLost it backs off, reads the task, and completes it again while it is still
 * running with its claim. `mode: 'ack-before-commit'`, the control, acknowledges the completion
 * (`completed`) from inside the open transaction and treats a ConnectionLost from the COMMIT as
 * success: the worker that counts an unacknowledged completion as done.
 *
 * Raw API on purpose: the completion must be pinned open inside its transaction across the restart
 * (a `writeTxn` around `complete`), which no worker loop does.
 */
export async function postgresPinnedCompletion(_adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<PinnedResult> {
  const spec = postgresSpecArg(args)
  const honest = args.mode === 'honest'
  const board = await openPostgresBoard(spec, { engine: { poolSize: 2 } })
  const acknowledged: string[] = []
  const errors: string[] = []
  const errorSamples: string[] = []
  const lost = async (error: unknown): Promise<boolean> => {
    errors.push(errorCode(error))
    if (errorSamples.length < 5) errorSamples.push(errorLine(error))
    if (errorCode(error) !== 'CONNECTION_LOST') return false
    await delay(50 * (0.5 + Math.random()))
    return true
  }
  try {
    const task = await board.claimNext({ workerId: 'pinned', pid: process.pid, host: hostname(), leaseMs: 600_000 })
    if (task === undefined) throw new Error('the pinned worker found no ready task')
    await channel.send({ kind: 'claimed', id: task.id } satisfies PinnedMessage)
    const word = await channel.receive()
    if (word !== 'complete') throw new Error(`the pinned worker expected 'complete', got ${JSON.stringify(word)}`)
    try {
      await board.writeTxn(async () => {
        await board.complete(task.id, task.claimToken, { by: 'pinned' })
        await channel.send({ kind: honest ? 'in-flight' : 'completed', id: task.id } satisfies PinnedMessage)
        if (!honest) acknowledged.push(task.id)
        const go = await channel.receive() // the parent restarts the server first
        if (go !== 'go') throw new Error(`the pinned worker expected 'go', got ${JSON.stringify(go)}`)
      })
      if (honest) acknowledged.push(task.id)
    } catch (error) {
      if (!(await lost(error))) throw error
      if (!honest) return { acknowledged, errors, errorSamples } // the control: a lost COMMIT taken for success
      // Honest: the completion's fate is on the board; complete again while the claim is still ours.
      for (;;) {
        try {
          const seen = await board.getTask(task.id)
          if (seen?.status === 'done') break // it had landed after all (not counted as acknowledged)
          if (seen?.status !== 'running' || seen.claimedBy !== 'pinned') throw new Error(`task ${task.id} is ${seen?.status}, claimed by ${seen?.claimedBy}`)
          await board.complete(task.id, task.claimToken, { by: 'pinned' })
          acknowledged.push(task.id)
          break
        } catch (retryError) {
          if (!(await lost(retryError))) throw retryError
        }
      }
    }
    if (honest && acknowledged.length > 0) await channel.send({ kind: 'completed', id: task.id } satisfies PinnedMessage)
    return { acknowledged, errors, errorSamples }
  } finally {
    await board.close()
  }
}

import { hostname } from 'node:os'
import type { ClaimedTask, ClaimOptions } from '@kanban-db/core'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'
import { errorCode, errorLine, openPostgresBoard, postgresSpecArg } from './postgres-board.js'

/** What the frozen worker tells the parent once its transaction holds the row locks. */
export interface FrozenLocked {
  readonly kind: 'locked'
  /** The task it claimed (committed, with `leaseMs`) and then locked again inside the open transaction. */
  readonly held: { readonly id: string; readonly claimToken: string; readonly claimExpiresAt: number | null }
  /** The ready task it claimed inside the open transaction (uncommitted, its row locked). */
  readonly pending: { readonly id: string; readonly claimToken: string } | undefined
  /** The backend of the open transaction (`SELECT pg_backend_pid()` inside it). */
  readonly backendPid: number
  /** That session's `idle_in_transaction_session_timeout`, as the server shows it (`13s`, `0`). */
  readonly idleTimeout: string
}

/** How one of the frozen worker's late writes ended. */
export interface LateWrite {
  readonly write: string
  readonly ok: boolean
  readonly code?: string
  readonly error?: string
}

/** What the frozen worker returns after it was let go. */
export interface FrozenResult {
  readonly late: readonly LateWrite[]
}

/**
 * The worker of `postgres.frozen-client-holds-locks` that the parent freezes with SIGSTOP inside a
 * write transaction. On its board (opened with `write: { transactionTimeoutMs }`; with
 * `serverTimeoutOff: true`, the control, also `pool: { idle_in_transaction_session_timeout: 0 }`) it
 * claims one task with `leaseMs` (committed), then opens a write transaction that heartbeats that
 * task (locking its row) and claims the next ready one (locking that row too), asks the server its
 * backend pid and its idle_in_transaction_session_timeout inside the transaction, sends `locked` and waits for the parent's next message: the
 * parent stops the process there. Once continued and told `resume`, it makes its late writes (the
 * completion of its task inside the frozen transaction, then both completions again on their own) and
 * returns how each ended; none may succeed, since the board gave its tasks to others meanwhile.
 *
 * Raw API on purpose: a heartbeat and a claim inside one open `writeTxn` that the process is frozen
 * in is not something a worker loop does; the case is about the server's locks and timeout.
 */
export async function postgresFrozenWorker(_adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<FrozenResult> {
  const spec = postgresSpecArg(args)
  const board = await openPostgresBoard(spec, {
    engine: { poolSize: 2, ...(args.serverTimeoutOff === true ? { pool: { idle_in_transaction_session_timeout: 0 } } : {}) },
    board: { write: { transactionTimeoutMs: Number(args.transactionTimeoutMs) } },
  })
  const claim: ClaimOptions = { workerId: String(args.workerId ?? 'frozen'), pid: process.pid, host: hostname(), leaseMs: Number(args.leaseMs) }
  const outcome = async (write: string, body: () => Promise<unknown>): Promise<LateWrite> => {
    try {
      await body()
      return { write, ok: true }
    } catch (error) {
      return { write, ok: false, code: errorCode(error), error: errorLine(error) }
    }
  }
  let frozen: LateWrite | undefined
  let inside: LateWrite | undefined
  const after: LateWrite[] = []
  try {
    const held = await board.claimNext(claim)
    if (held === undefined) throw new Error('the frozen worker found no ready task to claim')
    let pending: ClaimedTask | undefined
    frozen = await outcome('the frozen transaction', () =>
      board.writeTxn(async (trx) => {
        await board.heartbeat(held.id, held.claimToken)
        pending = await board.claimNext(claim)
        const { pid, idleTimeout } = await trx
          .selectNoFrom((eb) => [
            eb.fn<number>('pg_backend_pid', []).as('pid'),
            eb.fn<string>('current_setting', [eb.val('idle_in_transaction_session_timeout')]).as('idleTimeout'),
          ])
          .executeTakeFirstOrThrow()
        await channel.send({
          kind: 'locked',
          held: { id: held.id, claimToken: held.claimToken, claimExpiresAt: held.claimExpiresAt },
          pending: pending && { id: pending.id, claimToken: pending.claimToken },
          backendPid: Number(pid),
          idleTimeout,
        } satisfies FrozenLocked)
        // The parent stops this process here (SIGSTOP) and, long after, continues it and says resume.
        const word = await channel.receive()
        if (word !== 'resume') throw new Error(`the frozen worker expected 'resume', got ${JSON.stringify(word)}`)
        inside = await outcome('complete its task inside the frozen transaction', () => board.complete(held.id, held.claimToken, { late: true }))
        if (!inside.ok) throw new Error(`its late write inside the transaction failed (${inside.code}), so the transaction must not commit`)
      }),
    )
    // The transaction may end (its own timeout fires first once the process runs again) before the
    // callback has heard `resume`: these late writes then run meanwhile, which changes nothing.
    after.push(await outcome('complete its task again on its own', () => board.complete(held.id, held.claimToken, { late: true })))
    if (pending !== undefined) {
      const other = pending
      after.push(await outcome('complete the task it claimed inside the frozen transaction', () => board.complete(other.id, other.claimToken, { late: true })))
    }
  } finally {
    // Waits for the frozen transaction's callback too (close waits for every running write).
    await board.close()
  }
  return { late: [frozen!, ...(inside === undefined ? [] : [inside]), ...after] }
}

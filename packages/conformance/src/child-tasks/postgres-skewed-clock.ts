import { hostname } from 'node:os'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'
import { errorCode, errorLine, openPostgresBoard, postgresSpecArg } from './postgres-board.js'

/** What the parent asks a skewed process to do, one at a time. */
export type SkewedCommand =
  | { readonly op: 'claim'; readonly leaseMs: number }
  | { readonly op: 'heartbeat'; readonly id: string; readonly claimToken: string; readonly leaseMs: number }
  | { readonly op: 'reclaim' }
  | { readonly op: 'complete'; readonly id: string; readonly claimToken: string }
  | { readonly op: 'stop' }

/** Its answer to one command. */
export interface SkewedAnswer {
  readonly ok: boolean
  readonly code?: string
  readonly error?: string
  /** This process's `Date.now()` when it answered (skewed). */
  readonly clientNow: number
  readonly id?: string
  readonly claimToken?: string
  readonly claimedAt?: number | null
  readonly claimExpiresAt?: number | null
  /** `reclaim`: the tasks `releaseStaleClaims` took back. */
  readonly released?: readonly string[]
}

/**
 * A process of `postgres.skewed-client-clock` whose clock is wrong by `args.skewMs` (`Date.now` is
 * replaced before the board is opened). It opens the case's board with the server's clock, or, with
 * `args.localClock` (the control), with `clock: Date.now`, trusting its own. Says `ready`, then runs
 * the parent's commands (claim, heartbeat, releaseStaleClaims, complete) one by one and answers each
 * with what the board returned or the error's code.
 *
 * Raw API on purpose: the parent orders each claim, heartbeat and reclaim at a chosen moment, so the
 * case can show which board call would move an expiry into the past or steal a live lease.
 */
export async function postgresSkewedClock(_adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const spec = postgresSpecArg(args)
  const skewMs = Number(args.skewMs)
  // The control is the board as it was: trusting its own clock, with core's clock guards off.
  if (args.localClock === true) process.env['KANBAN_DB_CLOCK_GUARDS'] = 'off'
  const realNow = Date.now.bind(Date)
  Date.now = () => realNow() + skewMs
  const board = await openPostgresBoard(spec, { engine: { poolSize: 1 }, board: args.localClock === true ? { clock: Date.now } : {} })
  const claim = { workerId: String(args.workerId ?? `skewed-${process.pid}`), pid: process.pid, host: hostname() }
  try {
    await channel.send('ready')
    for (;;) {
      const command = (await channel.receive()) as SkewedCommand
      if (command.op === 'stop') return { pid: process.pid }
      let answer: Omit<SkewedAnswer, 'clientNow'>
      try {
        if (command.op === 'claim') {
          const task = await board.claimNext({ ...claim, leaseMs: command.leaseMs })
          answer = task === undefined ? { ok: false, error: 'nothing ready' } : { ok: true, id: task.id, claimToken: task.claimToken, claimedAt: task.claimedAt, claimExpiresAt: task.claimExpiresAt }
        } else if (command.op === 'heartbeat') {
          const task = await board.heartbeat(command.id, command.claimToken, { leaseMs: command.leaseMs })
          answer = { ok: true, id: task.id, claimExpiresAt: task.claimExpiresAt }
        } else if (command.op === 'reclaim') {
          answer = { ok: true, released: (await board.releaseStaleClaims()).map((released) => released.taskId) }
        } else {
          answer = { ok: true, id: (await board.complete(command.id, command.claimToken, { by: claim.workerId })).id }
        }
      } catch (error) {
        answer = { ok: false, code: errorCode(error), error: errorLine(error) }
      }
      await channel.send({ ...answer, clientNow: Date.now() } satisfies SkewedAnswer)
    }
  } finally {
    await board.close()
  }
}

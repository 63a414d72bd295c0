import { hostname } from 'node:os'
import type { ClaimedTask, ClaimOptions } from '@kanban-db/core'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import { requireFromPackage } from '../import-module.js'
import type { TaskChannel } from '../task-channel.js'
import { errorCode, errorLine, openPostgresBoard, postgresSpecArg } from './postgres-board.js'

/** What the parent asks the victim to do: one board write, optionally stopped after its `pauseAfter`-th row write. */
export interface VictimCommand {
  readonly op: 'claim' | 'complete-and-claim' | 'stop'
  /** Stop inside the write after this many statements that changed rows; absent: run it through. */
  readonly pauseAfter?: number
}

/** What the victim sends while a write is stopped, then once it has ended. */
export type VictimMessage =
  | { readonly kind: 'ready'; readonly pid: number }
  | { readonly kind: 'paused'; readonly backendPid: number; readonly statement: string; readonly writes: number }
  | {
      readonly kind: 'outcome'
      readonly ok: boolean
      readonly code?: string
      readonly error?: string
      readonly completed?: string
      /** The task it holds after the write (its claim), if any. */
      readonly holds?: { readonly id: string; readonly claimToken: string }
    }

interface PgResult {
  readonly command: string
  readonly rowCount: number | null
  readonly rows: Array<Record<string, unknown>>
}
/** The SQL of a query as node-postgres takes it: a string, or a query config (`{ text, values, name? }`). */
function statementText(query: unknown): string | undefined {
  if (typeof query === 'string') return query
  if (typeof query !== 'object' || query === null) return undefined
  const { text, submit } = query as { text?: unknown; submit?: unknown }
  return typeof text === 'string' && typeof submit !== 'function' ? text : undefined
}

interface PgClientClass {
  new (config: unknown): { query(...args: unknown[]): unknown }
}

/**
 * The victim of `postgres.backend-terminated-in-transaction`: a worker whose board connections are
 * node-postgres clients (the pool's `Client` option) that can stop a write in the middle. The parent
 * sends one command at a time; for a command with `pauseAfter: k` the client, after the write's k-th
 * statement that changed rows, asks `SELECT pg_backend_pid()` on the same connection (inside the
 * write's transaction), sends it as `paused`, and waits for the parent's `go` (the parent terminates
 * that backend first) before the write goes on. Every write's outcome is sent back: ok with what the
 * worker now holds, or its error code.
 *
 * `mode: 'transaction'` is the engine as it is. `mode: 'autocommit'`, the control, answers the write
 * path's BEGIN, COMMIT and ROLLBACK itself without sending them, so the same statements of the same
 * board operations each commit on their own.
 *
 * Raw API on purpose: the case stops one `claimNext` or `completeAndClaimNext` at each of its row
 * writes and compares the board row for row, one write at a time, as the parent orders them.
 */
export async function postgresTxnVictim(_adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const spec = postgresSpecArg(args)
  const autocommit = args.mode === 'autocommit'
  const send = (message: VictimMessage) => channel.send(message)
  const requirePg = requireFromPackage(spec.moduleName, spec.resolveFrom)
  if (requirePg === undefined) throw new Error(`cannot resolve ${spec.moduleName} from ${spec.resolveFrom}`)
  const pg = requirePg('pg') as { Client: PgClientClass; default?: { Client: PgClientClass } }
  const Base = pg.Client ?? pg.default!.Client

  /** Row-changing statements left before the armed pause; undefined: not armed. */
  let pauseIn: number | undefined
  let writes = 0
  class PausingClient extends Base {
    override query(...queryArgs: unknown[]): unknown {
      const text = statementText(queryArgs[0])
      // The pool's own queries (with a callback) and submittables (cursors) pass through untouched.
      if (text === undefined || typeof queryArgs.at(-1) === 'function') return super.query(...queryArgs)
      if (autocommit && /^(BEGIN\b|COMMIT$|ROLLBACK$)/.test(text)) {
        // The control: the transaction statements are answered here, never sent.
        return Promise.resolve({ command: text.split(' ')[0], rowCount: null, rows: [], fields: [] })
      }
      return (async () => {
        const result = (await super.query(...queryArgs)) as PgResult
        if (pauseIn !== undefined && /^(INSERT|UPDATE|DELETE)$/.test(result.command) && (result.rowCount ?? 0) > 0) {
          writes += 1
          if (--pauseIn === 0) {
            pauseIn = undefined
            const pid = (await super.query('SELECT pg_backend_pid() AS pid')) as PgResult
            await send({ kind: 'paused', backendPid: Number(pid.rows[0]!.pid), statement: text.replace(/\s+/g, ' ').slice(0, 120), writes })
            const word = await channel.receive()
            if (word !== 'go') throw new Error(`the victim expected 'go' while paused, got ${JSON.stringify(word)}`)
          }
        }
        return result
      })()
    }
  }

  const board = await openPostgresBoard(spec, { engine: { poolSize: 2, pool: { Client: PausingClient } } })
  const claim: ClaimOptions = { workerId: String(args.workerId ?? `victim-${process.pid}`), pid: process.pid, host: hostname(), leaseMs: 600_000 }
  let held: ClaimedTask | undefined
  const holds = () => (held === undefined ? {} : { holds: { id: held.id, claimToken: held.claimToken } })
  try {
    await send({ kind: 'ready', pid: process.pid })
    for (;;) {
      const command = (await channel.receive()) as VictimCommand
      if (command.op === 'stop') return { holds: held?.id }
      pauseIn = command.pauseAfter
      writes = 0
      try {
        if (command.op === 'claim') {
          if (held !== undefined) throw new Error(`the victim already holds ${held.id}`)
          held = await board.claimNext(claim)
          await send({ kind: 'outcome', ok: true, ...holds() })
        } else {
          if (held === undefined) throw new Error('the victim holds no task to complete')
          const { next } = await board.completeAndClaimNext(held.id, held.claimToken, { by: claim.workerId }, claim)
          const completed = held.id
          held = next
          await send({ kind: 'outcome', ok: true, completed, ...holds() })
        }
      } catch (error) {
        await send({ kind: 'outcome', ok: false, code: errorCode(error), error: errorLine(error), ...holds() })
      } finally {
        pauseIn = undefined
      }
    }
  } finally {
    await board.close()
  }
}

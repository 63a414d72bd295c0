import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import type { Board, ClaimedTask, ClaimOptions } from '@kanban-db/core'
import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'
import { errorCode, errorLine, loadClassifier, openPostgresBoard, postgresSpecArg } from './postgres-board.js'

/** What one lane of a fleet worker process reports. */
export interface FleetLaneResult {
  readonly workerId: string
  /** Claims it learned of, in order: returned to it, or found on the board as its own after a ConnectionLost. */
  readonly claimed: readonly string[]
  /** Completions acknowledged to it: `completeAndClaimNext` returned. */
  readonly completed: readonly string[]
  /**
   * Completions whose acknowledgement was lost (ConnectionLost after the COMMIT was sent) and that it
   * then found applied on the board; never counted as acknowledged.
   */
  readonly confirmed: readonly string[]
  /** Claims committed without reaching it (their acknowledgement was lost), found on the board and taken up. */
  readonly adopted: readonly string[]
  /** ConnectionLost errors it met, and went on after. */
  readonly connectionLost: number
  /** Any other error, by code: each stops the lane and fails the case. */
  readonly errors: Readonly<Record<string, number>>
  readonly errorSamples: readonly string[]
}

/** What a fleet worker sends while it runs (besides `ready`). */
export type FleetMessage =
  | { readonly kind: 'completed'; readonly workerId: string; readonly id: string }
  | { readonly kind: 'confirmed'; readonly workerId: string; readonly id: string }
  | { readonly kind: 'failed'; readonly workerId: string; readonly error: string }

/** How long a lane backs off after a ConnectionLost before it goes on (with jitter). */
const BACKOFF_MS = 50

/**
 * A worker process of the Postgres hazard cases: `args.lanes` lanes, each claiming and finishing
 * tasks with `completeAndClaimNext` chains on the board of `args.board`, until the parent says
 * `drain` and nothing is left (no todo, ready or running task), or `abort`. Says `ready` once the
 * board is open and starts on `go`; sends each acknowledged completion as it happens.
 *
 * A lane that meets `ConnectionLost` (the server restarted, its backend was ended) backs off briefly
 * and goes on, as a worker should: it counts nothing it was not told, and reads the board to learn
 * what the lost call did. A completion found applied is `confirmed` (its COMMIT had landed); one not
 * applied is sent again with the same claim token; a claim of its own it was never told about (the
 * `next` of a completeAndClaimNext whose acknowledgement was lost) is adopted with the token the
 * board holds. Any other error stops the lane and is reported.
 *
 * Raw API on purpose, not `board.work`: the case is about what a caller of `completeAndClaimNext`
 * can learn after a ConnectionLost (did the lost COMMIT land, which claim did it make), and this
 * lane is that caller. `board.work` does not read the board after a lost completion: it sends the
 * completion again (ClaimMismatch when the first had landed, reported as a lost claim) and leaves
 * the chained claim whose acknowledgement was lost running until its lease ends (reported).
 */
export async function postgresFleetWorker(_adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<{ lanes: FleetLaneResult[] }> {
  const spec = postgresSpecArg(args)
  const lanes = Number(args.lanes ?? 1)
  const leaseMs = Number(args.leaseMs ?? 600_000)
  const prefix = String(args.workerId ?? `fleet-${process.pid}`)
  const classify = await loadClassifier(spec)
  const board = await openPostgresBoard(spec, { engine: { poolSize: Number(args.poolSize ?? lanes + 1) } })
  let mode = 'wait' as 'wait' | 'run' | 'drain' | 'abort'
  let started!: () => void
  const go = new Promise<void>((resolve) => (started = resolve))
  void (async () => {
    for (;;) {
      const message = await channel.receive().catch(() => 'abort')
      if (message === 'go' && mode === 'wait') {
        mode = 'run'
        started()
      }
      if (message === 'drain' && (mode === 'run' || mode === 'wait')) {
        mode = 'drain'
        started()
      }
      if (message === 'abort') {
        mode = 'abort'
        started()
        return
      }
    }
  })()
  try {
    await channel.send('ready')
    await go
    const results = await Promise.all(Array.from({ length: lanes }, (_, index) => lane(board, `${prefix}.${index}`)))
    return { lanes: results }
  } finally {
    await board.close()
  }

  async function lane(board: Board, workerId: string): Promise<FleetLaneResult> {
    const claim: ClaimOptions = { workerId, pid: process.pid, host: hostname(), leaseMs }
    const claimed: string[] = []
    const completed: string[] = []
    const confirmed: string[] = []
    const adopted: string[] = []
    const errors: Record<string, number> = {}
    const errorSamples: string[] = []
    let connectionLost = 0
    let failed = false
    const fail = (error: unknown) => {
      const code = errorCode(error)
      errors[code] = (errors[code] ?? 0) + 1
      if (errorSamples.length < 5) errorSamples.push(errorLine(error))
      failed = true
    }
    const lost = async (error: unknown): Promise<boolean> => {
      if (errorCode(error) !== 'CONNECTION_LOST') return false
      connectionLost += 1
      await delay(BACKOFF_MS * (0.5 + Math.random()))
      return true
    }
    /** Runs a read of the board, waiting out a lost connection (its errors are the driver's: classified here). */
    const read = async <T>(doing: string, query: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await query()
        } catch (error) {
          const classified = classify(error, doing)
          if (!(await lost(classified))) throw classified
        }
      }
    }
    /** A claim of this lane's on the board that it was never told about, taken up with the board's token. */
    const adopt = async (except: string | undefined): Promise<ClaimedTask | undefined> => {
      const rows = await read('looking for its own claims', () =>
        board.db.selectFrom('tasks').select(['id', 'claim_token']).where('status', '=', 'running').where('claimed_by', '=', workerId).execute(),
      )
      const orphan = rows.find((row) => row.id !== except && row.claim_token !== null)
      if (orphan === undefined) return undefined
      adopted.push(orphan.id)
      claimed.push(orphan.id)
      const task = await read('reading an adopted claim', () => board.getTask(orphan.id))
      return { ...task!, claimToken: orphan.claim_token!, runId: task!.currentRunId! } as ClaimedTask
    }

    let task: ClaimedTask | undefined
    const stopped = () => mode === 'abort' || failed
    try {
      while (!stopped()) {
        if (task === undefined) {
          try {
            task = await board.claimNext(claim)
          } catch (error) {
            if (!(await lost(error))) throw error
            // The claim may have committed without its answer reaching us.
            task = await adopt(undefined)
            continue
          }
          if (task === undefined) {
            if (mode === 'drain') {
              const left = await read('looking for unfinished tasks', () => board.listTasks({ status: ['todo', 'ready', 'running'], limit: 1 }))
              if (left.length === 0) break
            }
            // Idle: wait for a wake-up (another process made a task ready), or look again shortly.
            await new Promise<void>((resolve) => {
              const timer = setTimeout(done, 100)
              const unsubscribe = board.onWake(done)
              function done() {
                clearTimeout(timer)
                unsubscribe()
                resolve()
              }
            })
            continue
          }
          claimed.push(task.id)
        }
        const current: ClaimedTask = task
        try {
          const { next } = await board.completeAndClaimNext(current.id, current.claimToken, { by: workerId }, claim)
          completed.push(current.id)
          await channel.send({ kind: 'completed', workerId, id: current.id } satisfies FleetMessage)
          task = next
          if (next !== undefined) claimed.push(next.id)
        } catch (error) {
          if (!(await lost(error))) throw error
          // Did the lost completion land? Only the board can say.
          const seen = await read('reading a task whose completion was lost', () => board.getTask(current.id))
          if (seen?.status === 'done') {
            confirmed.push(current.id)
            await channel.send({ kind: 'confirmed', workerId, id: current.id } satisfies FleetMessage)
            task = await adopt(undefined)
          } else if (seen?.status === 'running' && seen.claimedBy === workerId) {
            task = current // not applied: send it again with the same claim
          } else {
            throw new Error(`task ${current.id} is ${seen?.status} (claimed by ${seen?.claimedBy}) after its completion by ${workerId} was lost`)
          }
        }
      }
    } catch (error) {
      fail(error)
      await channel.send({ kind: 'failed', workerId, error: errorLine(error) } satisfies FleetMessage)
    }
    return { workerId, claimed, completed, confirmed, adopted, connectionLost, errors, errorSamples }
  }
}

import { hostname } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import type { Board } from '@kanban-db/core'
import { openPgBoard, sharedNow } from './pg-server.ts'
import { PgRawLoop, type PgRawClaimed } from './pg-raw-loop.ts'
import { cpuMsNow } from '../work-latency.ts'
import type { FromPgChild, PgFleetInit, PgWorkerReport, ToPgChild } from './pg-fleet-protocol.ts'

/**
 * One process of a Postgres fleet (forked by pg-fleet.ts): kanban-db's board through `board.work`
 * with `concurrency` slots, or (W1's baseline) `concurrency` hand-written chained loops, the raw
 * node-postgres loop, or graphile-worker. Starts on `go`, stops on `stop`, reports by IPC; answers
 * `mark` with its CPU time so far.
 */
const send = (message: FromPgChild): Promise<void> =>
  new Promise((resolve, reject) => {
    process.send!(message, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve()))
  })
/** Fire and forget (`started`, `progress`): never delays the loop that sends it. */
const post = (message: FromPgChild): void => {
  if (process.connected) process.send!(message, undefined, {}, () => {})
}

let goAt = 0
let stopAt = Infinity
let cpuAtGo: NodeJS.CpuUsage | undefined
let cpuMs = NaN
let stopping = false
const started = Promise.withResolvers<void>()
const stopped = Promise.withResolvers<void>()
let finished = false
process.on('disconnect', () => {
  if (!finished) process.exit(1)
})
process.on('message', (message: ToPgChild) => {
  if (message.type === 'init') {
    void main(message).catch(async (error: unknown) => {
      await send({ type: 'fatal', message: describe(error) }).catch(() => {})
      process.exit(1)
    })
  } else if (message.type === 'mark') {
    post({ type: 'mark', cpuMs: cpuMsNow(), at: sharedNow() })
  } else if (message.type === 'go') {
    goAt = message.goAt
    cpuAtGo = process.cpuUsage()
    started.resolve()
  } else {
    stopAt = sharedNow()
    const cpu = process.cpuUsage(cpuAtGo)
    cpuMs = (cpu.user + cpu.system) / 1000
    stopping = true
    stopped.resolve()
  }
})

const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code
const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))
/** 50-150 ms: a short backoff, jittered so the loops of a fleet do not come back in step. */
const backoff = (): Promise<void> => delay(50 + Math.random() * 100)

/** What every kind of child keeps while it runs. */
class Tally {
  readonly ackedIds: string[] = []
  readonly ackTimes: number[] = []
  readonly claimTokens: string[] = []
  readonly windows: number[] = []
  readonly errorSamples: string[] = []
  readonly failures: string[] = []
  cycles = 0
  heldCompleted = 0
  errors = 0
  connectionLost = 0
  inDoubt = 0
  confirmedAfterLoss = 0
  idleWaits = 0
  gaveUp = 0
  released = 0

  /** A completion acknowledged now: inside the run it counts as a cycle and in its window. */
  ack(id: string): void {
    const at = sharedNow()
    this.ackedIds.push(id)
    this.ackTimes.push(at)
    if (stopping) {
      this.heldCompleted++
      return
    }
    this.cycles++
    const window = Math.floor((at - goAt) / 1000)
    this.windows[window] = (this.windows[window] ?? 0) + 1
  }

  error(error: unknown, doing: string): void {
    this.errors++
    if (this.errorSamples.length < 3) this.errorSamples.push(`${doing}: ${codeOf(error) ?? '-'} ${describe(error)}`.slice(0, 400))
  }

  report(workerId: string, elapsedMs: number): PgWorkerReport {
    return {
      type: 'report', workerId, cycles: this.cycles, elapsedMs, ackedIds: this.ackedIds, ackTimes: this.ackTimes, claimTokens: this.claimTokens,
      windows: Array.from(this.windows, (n) => n ?? 0), errors: this.errors, errorSamples: this.errorSamples, connectionLost: this.connectionLost,
      inDoubt: this.inDoubt, confirmedAfterLoss: this.confirmedAfterLoss, idleWaits: this.idleWaits, gaveUp: this.gaveUp, released: this.released, heldCompleted: this.heldCompleted,
      cpuMs, failures: this.failures.slice(0, 10),
    }
  }
}

async function main(init: PgFleetInit): Promise<void> {
  const tally = new Tally()
  const progress = init.progressEveryMs > 0 ? setInterval(() => post({ type: 'progress', acked: tally.ackedIds.length, at: sharedNow() }), init.progressEveryMs) : undefined
  let elapsedMs: number
  if (init.kind === 'board') elapsedMs = await workWorker(init, tally)
  else if (init.kind === 'board-hand') elapsedMs = await handWorker(init, tally)
  else if (init.kind === 'raw-board') elapsedMs = await rawBoardWorker(init, tally)
  else elapsedMs = await graphileWorker(init, tally)
  clearInterval(progress)
  finished = true
  await send(tally.report(init.workerId, elapsedMs))
  process.disconnect()
}

/**
 * kanban-db as users run it: `board.work` with `concurrency` slots and a no-op handler (the library
 * claims, chains each completion with the next claim in one commit, and waits on onWake while idle).
 * Acknowledged: the worker's `completed` event. Errors the worker survived are counted from its
 * `error` events (P5: ConnectionLost is counted apart, the worker retries it itself); a completion
 * refused after a lost connection (`lost`, kind `refused`) is read back, and done means an earlier
 * try had landed (acknowledged now). A handled task neither completed nor refused once the worker
 * has stopped is one whose completion the worker gave up on (`gaveUp`).
 */
async function workWorker(init: PgFleetInit, tally: Tally): Promise<number> {
  const board = await openPgBoard(init.url, init.schema)
  try {
    const wakes: number[] = []
    // Subscribed before ready, so the process LISTENs before go (the worker's subscription shares it).
    const unsubscribe = board.onWake(() => {
      wakes.push(sharedNow())
      if (wakes.length > 16) wakes.shift()
    })
    await send({ type: 'ready' })
    await started.promise
    const handled = new Set<string>()
    const settled = new Set<string>()
    const confirmations: Array<Promise<void>> = []
    const confirm = async (id: string): Promise<void> => {
      for (;;) {
        try {
          const status = (await board.getTask(id))?.status
          if (status === 'done') {
            tally.confirmedAfterLoss++
            tally.ack(id)
          } else tally.failures.push(`task ${id}: board.work's completion was refused after a failed try, and the task is ${status ?? 'gone'}`)
          return
        } catch (error) {
          if (codeOf(error) === 'CONNECTION_LOST') tally.connectionLost++
          else tally.error(error, 'getTask')
          await backoff()
        }
      }
    }
    const worker = board.work({ workerId: init.workerId, concurrency: init.concurrency, leaseMs: init.leaseMs }, (task) => {
      handled.add(task.id)
      tally.claimTokens.push(task.claimToken)
      if (init.reportStarts) post({ type: 'started', id: task.id, at: sharedNow(), wakes: [...wakes], claimAt: NaN })
      return { ok: true }
    })
    worker.on('completed', ({ task }) => {
      settled.add(task.id)
      tally.ack(task.id)
    })
    worker.on('idle', () => void tally.idleWaits++)
    worker.on('error', ({ error, phase }) => {
      if (codeOf(error) === 'CONNECTION_LOST' && init.retryConnectionLost) {
        tally.connectionLost++
        if ((error as { details?: { commitSent?: boolean } }).details?.commitSent) tally.inDoubt++
      } else tally.error(error, `board.work ${phase}`)
    })
    worker.on('lost', ({ taskId, kind }) => {
      settled.add(taskId)
      if (kind === 'refused' && init.retryConnectionLost) confirmations.push(confirm(taskId))
      else tally.failures.push(`board.work lost its claim on task ${taskId} (${kind})`)
    })
    worker.on('failed', ({ task, error }) => void tally.failures.push(`board.work failed task ${task.id}: ${describe(error)}`))
    await stopped.promise
    const summary = await worker.stop()
    await Promise.all(confirmations)
    unsubscribe()
    tally.gaveUp = [...handled].filter((id) => !settled.has(id)).length
    tally.released = summary.released
    if (summary.fatal !== undefined) tally.failures.push(`board.work stopped on ${describe(summary.fatal)}`)
    return stopAt - goAt
  } finally {
    await board.close()
  }
}

/**
 * Wakes the process's idle loops when the board says a task may be ready (onWake: LISTEN/NOTIFY
 * from any process). One loop per wake-up; a loop that then claims something passes the wake-up on,
 * so a batch of ready tasks reaches every idle loop without all of them racing for the first one.
 * The generation counter closes the gap between a claim that found nothing and the wait after it.
 */
class Waker {
  generation = 0
  /** When the latest wake-up came (shared clock). */
  wokenAt = NaN
  readonly #waiters: Array<() => void> = []

  constructor(board: Board) {
    board.onWake(() => {
      this.wokenAt = sharedNow()
      this.generation++
      this.wakeOne()
    })
  }

  wakeOne(): void {
    this.#waiters.shift()?.()
  }

  wakeAll(): void {
    for (const waiter of this.#waiters.splice(0)) waiter()
  }

  /** Resolves on the next wake-up, at once if one came since `seen` was read or the run is stopping. */
  wait(seen: number): Promise<void> {
    if (this.generation !== seen || stopping) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push(resolve))
  }
}

interface Claimed {
  readonly id: string
  readonly claimToken: string
}

/**
 * W1's baseline, the loop every user wrote before `board.work`: `concurrency` hand-written loops,
 * each finishing its task with completeAndClaimNext (one commit per task) and, when that claims
 * nothing, waiting on onWake before claiming again. Errors are counted (ConnectionLost apart when
 * `retryConnectionLost`), the loop backs off and tries the same call again.
 */
async function handWorker(init: PgFleetInit, tally: Tally): Promise<number> {
  const board = await openPgBoard(init.url, init.schema)
  try {
    const waker = new Waker(board)
    await send({ type: 'ready' })
    await started.promise
    void stopped.promise.then(() => waker.wakeAll())
    const host = hostname()

    const took = (task: Claimed, claimAt = NaN): void => {
      tally.claimTokens.push(task.claimToken)
      if (init.reportStarts) post({ type: 'started', id: task.id, at: sharedNow(), wakes: [waker.wokenAt], claimAt })
    }
    /** Counts a failed call and waits before it is tried again. */
    const failed = async (error: unknown, doing: string): Promise<void> => {
      if (codeOf(error) === 'CONNECTION_LOST' && init.retryConnectionLost) {
        tally.connectionLost++
        if ((error as { details?: { commitSent?: boolean } }).details?.commitSent) tally.inDoubt++
      } else {
        tally.error(error, doing)
      }
      await backoff()
    }
    /** The task as the board has it now, read until the read gets through. */
    const readBack = async (id: string): Promise<string | undefined> => {
      for (;;) {
        try {
          return (await board.getTask(id))?.status
        } catch (error) {
          await failed(error, 'getTask')
        }
      }
    }
    /**
     * Completes `task` (and, chained, claims the next in the same commit), trying again after a
     * failure. A retry refused with ClaimMismatch means an earlier try may have landed: the task is
     * read back, and done means it did (acknowledged now; the next task that commit claimed is not
     * known here and stays running until its lease runs out).
     */
    const finish = async (task: Claimed, claim: Parameters<Board['claimNext']>[0], chained: boolean): Promise<Claimed | undefined> => {
      for (let tries = 0; ; tries++) {
        try {
          if (chained) {
            const { next } = await board.completeAndClaimNext(task.id, task.claimToken, { ok: true }, claim)
            tally.ack(task.id)
            if (next) took(next)
            return next
          }
          await board.complete(task.id, task.claimToken, { ok: true })
          tally.ack(task.id)
          return undefined
        } catch (error) {
          if (codeOf(error) === 'CLAIM_MISMATCH' && tries > 0) {
            const status = await readBack(task.id)
            if (status === 'done') {
              tally.confirmedAfterLoss++
              tally.ack(task.id)
            } else {
              tally.failures.push(`task ${task.id}: its completion was refused after a failed try, and the task is ${status ?? 'gone'}`)
            }
            return undefined
          }
          await failed(error, chained ? 'completeAndClaimNext' : 'complete')
        }
      }
    }

    const loop = async (n: number): Promise<void> => {
      const claim = { workerId: `${init.workerId}.${n}`, pid: process.pid, host, leaseMs: init.leaseMs }
      let task: Claimed | undefined
      while (!stopping) {
        if (task) {
          task = await finish(task, claim, true)
          continue
        }
        const seen = waker.generation
        const claimAt = sharedNow()
        try {
          task = await board.claimNext(claim)
        } catch (error) {
          await failed(error, 'claimNext')
          continue
        }
        if (!task) {
          tally.idleWaits++
          await waker.wait(seen)
          continue
        }
        took(task, claimAt)
        // More may be ready: pass the wake-up on to another idle loop.
        waker.wakeOne()
      }
      // Claimed when stop came: finish it, after the clock stopped.
      if (task) await finish(task, claim, false)
    }
    await Promise.all(Array.from({ length: init.concurrency }, (_, n) => loop(n)))
    return stopAt - goAt
  } finally {
    await board.close()
  }
}

/**
 * The raw reference fleet: `concurrency` loops, each on its own connection, running the board's own
 * statements with the chained complete-and-claim-next transaction. An empty queue is polled every
 * 5 ms (the reference has no wake-ups; the bench's backlog is sized so it never runs dry).
 */
async function rawBoardWorker(init: PgFleetInit, tally: Tally): Promise<number> {
  const loops = await Promise.all(Array.from({ length: init.concurrency }, (_, n) => PgRawLoop.connect(init.url, init.schema, `${init.workerId}.${n}`, init.prepared ?? false)))
  try {
    await send({ type: 'ready' })
    await started.promise
    const run = async (raw: PgRawLoop): Promise<void> => {
      let task: PgRawClaimed | undefined
      while (!stopping) {
        try {
          if (task) {
            const { completed, next } = await raw.completeAndClaimNext(task.id, task.token, init.leaseMs)
            if (!completed) tally.failures.push(`task ${task.id} could not be completed with its own token`)
            else tally.ack(task.id)
            task = next
          } else {
            task = await raw.claim(init.leaseMs)
            if (!task) {
              tally.idleWaits++
              await delay(5)
            }
          }
          if (task) tally.claimTokens.push(task.token)
        } catch (error) {
          tally.error(error, 'raw loop')
          await backoff()
        }
      }
      if (task) {
        try {
          if (await raw.complete(task.id, task.token)) tally.ack(task.id)
        } catch (error) {
          tally.failures.push(`completing the last task ${task.id}: ${describe(error)}`)
        }
      }
    }
    await Promise.all(loops.map(run))
    return stopAt - goAt
  } finally {
    await Promise.all(loops.map((loop) => loop.close()))
  }
}

/**
 * graphile-worker 0.18 with its defaults (no local queue, no completion batching, 2 s poll, LISTEN
 * for new jobs), `concurrency` jobs at once, a no-op task. The runner starts on `go` (its jobs are
 * already queued); its clock starts when `run` resolves, so its start-up is not counted against it.
 */
async function graphileWorker(init: PgFleetInit, tally: Tally): Promise<number> {
  const { run, Logger } = await import('graphile-worker')
  const logger = new Logger(() => (level: string, message: string) => {
    if (level === 'error') tally.error(new Error(message), 'graphile-worker')
  })
  await send({ type: 'ready' })
  await started.promise
  const runner = await run({
    connectionString: init.url,
    schema: init.schema,
    concurrency: init.concurrency,
    noHandleSignals: true,
    logger,
    taskList: {
      noop: async (_payload, helpers) => {
        // The handler's return is the job's success; its completion is committed right after.
        tally.ack(String(helpers.job.id))
      },
    },
  })
  const runningAt = sharedNow()
  await stopped.promise
  await runner.stop()
  return stopAt - Math.max(goAt, runningAt)
}

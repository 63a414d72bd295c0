import { hostname } from 'node:os'
import { CompiledQuery } from 'kysely'
import { setTimeout as delay } from 'node:timers/promises'
import { now, wallNow } from '../clock.ts'
import { openRaw } from '../baselines/raw-database.ts'
import { type RawClaimed, type RawClaimLoop, rawClaimLoop } from '../baselines/raw-claim.ts'
import { openRawBoard, type RawBoardLoop, rawBoardLoop } from '../baselines/raw-board.ts'
import type { Board, JsonObject } from '@kanban-db/core'
import { benchTasks, type BenchBoard, openBenchBoard, useAdapter } from '../board-client.ts'
import { cpuMsNow } from '../work-latency.ts'
import type { DispatcherReport, FleetInit, FromFleetChild, ToFleetChild, WorkerReport } from './fleet-protocol.ts'

/**
 * One process of the fleet scenario (forked by scenarios/fleet.ts): a worker that claims and
 * completes as fast as it can while heartbeating one task it holds all run, or the dispatcher that
 * keeps adding tasks and releasing expired claims. Starts on `go`, stops on `stop`, reports by IPC.
 */
const send = (message: FromFleetChild): Promise<void> =>
  new Promise((resolve, reject) => {
    process.send!(message, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve()))
  })

let goAt = 0
let cpuAtGo = 0
let stopping = false
const started = Promise.withResolvers<void>()
const stopped = Promise.withResolvers<void>()

let finished = false
// The coordinator died (Ctrl-C, crash): stop at once instead of writing on alone.
process.on('disconnect', () => {
  if (!finished) process.exit(1)
})

process.on('message', (message: ToFleetChild) => {
  if (message.type === 'init') {
    void main(message).catch(async (error: unknown) => {
      await send({ type: 'fatal', message: describe(error) }).catch(() => {})
      process.exit(1)
    })
  } else if (message.type === 'go') {
    goAt = message.goAt
    cpuAtGo = cpuMsNow()
    started.resolve()
  } else {
    stopping = true
    stopped.resolve()
  }
})

/** One macrotask turn: timers and IPC messages get their chance. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const codeOf = (error: unknown): string | undefined => (error as { code?: string }).code
const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error))

async function main(options: FleetInit): Promise<void> {
  if (options.mode === 'raw') return rawWorker(options)
  useAdapter(options.adapterModule)
  const board = await openBenchBoard(options.path, options.synchronous)
  try {
    if (options.role === 'dispatcher') await dispatcher(board, options)
    else if (options.loop === 'hand') await handWorker(board, options)
    else await workWorker(board, options)
  } finally {
    await board.close()
  }
  finished = true
  process.disconnect()
}

/** What both board workers keep while they run, and the report made from it. */
class WorkerTally {
  readonly claimedIds: string[] = []
  readonly claimTokens: string[] = []
  readonly claimLatenciesMs: number[] = []
  readonly heartbeatLatenessMs: number[] = []
  readonly windows: number[] = []
  readonly failures: string[] = []
  busy = 0
  empty = 0

  /** A task handed to the worker's code now: it counts in the 1 s window since go. */
  took(task: { readonly id: string; readonly claimToken: string }): void {
    this.claimedIds.push(task.id)
    this.claimTokens.push(task.claimToken)
    const window = Math.floor((wallNow() - goAt) / 1000)
    this.windows[window] = (this.windows[window] ?? 0) + 1
  }

  report(workerId: string, cycles: number, elapsedMs: number, heldCompleted: number, cpuMs: number): WorkerReport {
    return {
      type: 'report', role: 'worker', workerId, cycles, elapsedMs, cpuMs, claimedIds: this.claimedIds, claimTokens: this.claimTokens,
      claimLatenciesMs: this.claimLatenciesMs, heartbeatLatenessMs: this.heartbeatLatenessMs, windows: Array.from(this.windows, (n) => n ?? 0),
      busy: this.busy, empty: this.empty, heldCompleted, failures: this.failures.slice(0, 10),
    }
  }
}

/**
 * Heartbeats the held task every `heartbeatEveryMs` through `beat` until stop, recording how late
 * each one finished after it was due (G4). Resolves at stop.
 */
function holdTask(options: FleetInit, tally: WorkerTally, beat: () => Promise<unknown>): Promise<void> {
  let due = now() + options.heartbeatEveryMs
  let timer: NodeJS.Timeout | undefined
  let done = false
  const tick = async (): Promise<void> => {
    if (stopping || done) return
    try {
      await beat()
      tally.heartbeatLatenessMs.push(now() - due)
    } catch (error) {
      tally.heartbeatLatenessMs.push(now() - due)
      tally.failures.push(codeOf(error) === 'CLAIM_MISMATCH' ? `lease lost while heartbeating: ${describe(error)}` : `heartbeat: ${describe(error)}`)
      if (codeOf(error) === 'CLAIM_MISMATCH') return // the claim is gone: nothing left to heartbeat
    }
    due += options.heartbeatEveryMs
    if (!stopping && !done) timer = setTimeout(() => void tick(), Math.max(0, due - now()))
  }
  timer = setTimeout(() => void tick(), options.heartbeatEveryMs)
  return stopped.promise.then(() => {
    done = true
    clearTimeout(timer)
  })
}

/**
 * The fleet worker users would write: `board.work`, the library's loop, with two slots. The first
 * task it is handed is held all run (heartbeated every `heartbeatEveryMs` through the handler's own
 * `heartbeat()`, the priority lane the library's timer uses too, so G4 times the library's path);
 * every other task returns `{ ok: true }` after one event-loop turn (as a handler doing real I/O
 * would), and the library completes it and claims the next in the same commit. A claim's wait is
 * the time from a handler's return to the next handler's start in the churning slot (the chained
 * completeAndClaimNext plus the loop's own overhead).
 */
async function workWorker(board: BenchBoard, options: FleetInit): Promise<void> {
  const tally = new WorkerTally()
  await send({ type: 'ready' })
  await started.promise
  const start = now()
  let held: string | undefined
  let lastReturn: number | undefined
  let completed = 0
  const progress = process.env['BENCH_DEBUG']
    ? setInterval(() => console.error(`[${options.workerId}] completed=${completed} empty=${tally.empty} busy=${tally.busy} beats=${tally.heartbeatLatenessMs.length} stopping=${stopping}`), 1000)
    : undefined
  const worker = (board as unknown as Board).work({ workerId: options.workerId, concurrency: 2, leaseMs: options.leaseMs }, async (task, { heartbeat }): Promise<JsonObject> => {
    const entered = now()
    if (held === undefined) {
      // Claimed after go, so no lease runs out while the other processes start.
      held = task.id
      tally.claimedIds.push(task.id)
      tally.claimTokens.push(task.claimToken)
      await holdTask(options, tally, heartbeat)
      return { held: true }
    }
    if (lastReturn !== undefined) tally.claimLatenciesMs.push(entered - lastReturn)
    tally.took(task)
    await nextTurn()
    lastReturn = now()
    return { ok: true }
  })
  worker.on('completed', ({ task }) => {
    if (task.id !== held) completed++
  })
  worker.on('idle', () => void tally.empty++)
  worker.on('error', ({ error, phase, taskId }) => {
    if (codeOf(error) === 'BUSY') tally.busy++
    else tally.failures.push(`board.work ${phase}${taskId ? ` (task ${taskId})` : ''}: ${describe(error)}`)
  })
  worker.on('lost', ({ taskId, kind }) => void tally.failures.push(`board.work lost its claim on task ${taskId} (${kind})`))
  worker.on('failed', ({ task, error }) => void tally.failures.push(`board.work failed task ${task.id}: ${describe(error)}`))
  await stopped.promise
  const elapsedMs = now() - start
  const cpuMs = cpuMsNow() - cpuAtGo
  const cycles = completed
  const summary = await worker.stop()
  clearInterval(progress)
  // The held task and the task running when stop came are completed after the clock stopped.
  const heldCompleted = summary.completed - cycles
  if (summary.completed !== tally.claimedIds.length) {
    tally.failures.push(`board.work handed ${tally.claimedIds.length} tasks to the handler and completed ${summary.completed}`)
  }
  if (summary.fatal !== undefined) tally.failures.push(`board.work stopped on ${describe(summary.fatal)}`)
  await send(tally.report(options.workerId, cycles, elapsedMs, heldCompleted, cpuMs))
}

/**
 * The hand-written loop (the W1 baseline): the claim/heartbeat/complete loop every user wrote before
 * `board.work`, finishing each task with `completeAndClaimNext` (one commit per cycle), taking one
 * event-loop turn per cycle, while heartbeating one task it holds all run.
 */
async function handWorker(board: BenchBoard, options: FleetInit): Promise<void> {
  const claim = { workerId: options.workerId, pid: process.pid, host: hostname(), leaseMs: options.leaseMs }
  const tally = new WorkerTally()
  await send({ type: 'ready' })
  await started.promise
  // The task this worker holds all run, heartbeating it; claimed after go so no lease runs out
  // while the other processes start.
  let held: Awaited<ReturnType<BenchBoard['claimNext']>>
  for (;;) {
    try {
      held = await board.claimNext(claim)
      break
    } catch (error) {
      if (codeOf(error) !== 'BUSY') throw error
      tally.busy++
    }
  }
  if (!held) throw new Error('no ready task to hold for heartbeats')
  const holding = holdTask(options, tally, () => board.heartbeat(held.id, held.claimToken))

  const start = now()
  const progress = process.env['BENCH_DEBUG']
    ? setInterval(() => console.error(`[${options.workerId}] cycles=${tally.claimedIds.length} empty=${tally.empty} busy=${tally.busy} beats=${tally.heartbeatLatenessMs.length} stopping=${stopping}`), 1000)
    : undefined
  // The next task comes from the previous completeAndClaimNext.
  let next: { readonly id: string; readonly claimToken: string } | undefined
  while (!stopping && tally.failures.length < 5) {
    try {
      const task = next ?? (await board.claimNext(claim))
      next = undefined
      if (!task) {
        tally.empty++
        await delay(1)
        continue
      }
      tally.took(task)
      // One commit completes this task and claims the next: its latency is the claim wait.
      const t0 = now()
      next = (await board.completeAndClaimNext!(task.id, task.claimToken, { ok: true }, claim)).next
      tally.claimLatenciesMs.push(now() - t0)
    } catch (error) {
      if (codeOf(error) === 'BUSY') tally.busy++
      else tally.failures.push(`claim/complete: ${describe(error)}`)
    }
    // A real worker does I/O between claim and complete; without a macrotask turn the loop would
    // run on microtasks alone and starve its own heartbeat timer and the stop message.
    await nextTurn()
  }
  const elapsedMs = now() - start
  const cpuMs = cpuMsNow() - cpuAtGo
  const cycles = tally.claimedIds.length
  clearInterval(progress)
  let heldCompleted = 0
  if (next) {
    // Claimed by the last chained call when stop came: finish it so every claim is completed, after
    // the clock stopped, so it counts in heldCompleted, not in cycles.
    try {
      await board.complete(next.id, next.claimToken, { ok: true })
      tally.claimedIds.push(next.id)
      tally.claimTokens.push(next.claimToken)
      heldCompleted++
    } catch (error) {
      tally.failures.push(`completing the last chained task ${next.id}: ${describe(error)}`)
    }
  }
  stopped.resolve()
  await holding
  try {
    await board.complete(held.id, held.claimToken, { held: true })
    heldCompleted++
  } catch (error) {
    tally.failures.push(`completing the held task ${held.id}: ${describe(error)}`)
  }
  await send(tally.report(options.workerId, cycles, elapsedMs, heldCompleted, cpuMs))
}

async function dispatcher(board: BenchBoard, options: FleetInit): Promise<void> {
  await send({ type: 'ready' })
  await started.promise
  const failures: string[] = []
  const releasedIds: string[] = []
  let created = 0
  let busy = 0
  let tick = 0
  while (!stopping) {
    try {
      // A dispatcher's job: keep work on the board, take back expired claims.
      const ready = await readyCount(board)
      if (ready < options.readyBacklog) {
        for (let missing = options.readyBacklog - ready; missing > 0 && !stopping; missing -= 1000) {
          await board.createTasks(benchTasks(Math.min(1000, missing), created))
          created += Math.min(1000, missing)
        }
      }
      if (tick++ % 2 === 0) for (const released of await board.releaseStaleClaims()) releasedIds.push(released.taskId)
    } catch (error) {
      if (codeOf(error) === 'BUSY') busy++
      else failures.push(`dispatcher: ${describe(error)}`)
    }
    await Promise.race([delay(options.heartbeatEveryMs / 2), stopped.promise])
  }
  const report: DispatcherReport = { type: 'report', role: 'dispatcher', created, releasedIds, busy, failures }
  await send(report)
}

async function readyCount(board: BenchBoard): Promise<number> {
  const result = await board.db.executeQuery(CompiledQuery.raw("SELECT count(*) AS n FROM tasks WHERE status = 'ready'"))
  return Number((result.rows[0] as { n: number }).n)
}

/**
 * The raw references: a hand-written loop under SQLite's busy handler (busy_timeout 5000). Rows
 * `tasks`: raw-claim's loop (the tasks table alone). Rows `board`: raw-board's loop (the board's own
 * statements and rows), finishing each task with its one-transaction completeAndClaimNext when
 * `chained`.
 */
async function rawWorker(options: FleetInit): Promise<void> {
  let db: ReturnType<typeof openRaw>
  let loop: RawClaimLoop | RawBoardLoop
  if (options.rawRows === 'board') {
    if (!options.boardPragmas) throw new Error('a raw board worker needs the board\'s policy pragmas')
    db = openRawBoard(options.path, options.synchronous, options.boardPragmas)
    loop = rawBoardLoop(db, options.workerId)
  } else {
    if (options.chained) throw new Error('the raw tasks-only loop has no chained variant')
    db = openRaw(options.path, options.synchronous)
    loop = rawClaimLoop(db, options.workerId)
  }
  await send({ type: 'ready' })
  await started.promise
  const claimedIds: string[] = []
  const claimTokens: string[] = []
  const claimLatenciesMs: number[] = []
  const windows: number[] = []
  const failures: string[] = []
  let busy = 0
  let empty = 0
  // Chained: the next task comes from the previous completeAndClaimNext.
  let next: RawClaimed | undefined
  const start = now()
  const countBusy = (): void => void busy++
  while (!stopping && failures.length < 5) {
    try {
      const t0 = now()
      const task = next ?? untilNotBusy(() => loop.claim(Date.now(), options.leaseMs), countBusy)
      next = undefined
      const t1 = now()
      if (!task) {
        empty++
        await delay(1)
        continue
      }
      const window = Math.floor((wallNow() - goAt) / 1000)
      windows[window] = (windows[window] ?? 0) + 1
      let completed: boolean
      if (options.chained) {
        // One transaction completes this task and claims the next: its latency is the claim wait.
        const t2 = now()
        const chained = untilNotBusy(() => (loop as RawBoardLoop).completeAndClaimNext(task.id, task.token, Date.now(), options.leaseMs), countBusy)
        claimLatenciesMs.push(now() - t2)
        completed = chained.completed
        next = chained.next
      } else {
        claimLatenciesMs.push(t1 - t0)
        completed = untilNotBusy(() => loop.complete(task.id, task.token), countBusy)
      }
      if (!completed) failures.push(`task ${task.id} could not be completed with its own token`)
      claimedIds.push(task.id)
      claimTokens.push(task.token)
    } catch (error) {
      failures.push(`raw claim/complete: ${describe(error)}`)
    }
    // The same event-loop turn per cycle as the board worker takes.
    await nextTurn()
  }
  const elapsedMs = now() - start
  const cpuMs = cpuMsNow() - cpuAtGo
  const cycles = claimedIds.length
  let heldCompleted = 0
  if (next) {
    // Claimed by the last chained call when stop came: finish it so every claim is completed, after
    // the clock stopped, so it counts in heldCompleted, not in cycles (as the board worker does).
    const last = next
    try {
      if (untilNotBusy(() => loop.complete(last.id, last.token), countBusy)) heldCompleted++
      else failures.push(`the last chained task ${last.id} could not be completed with its own token`)
      claimedIds.push(last.id)
      claimTokens.push(last.token)
    } catch (error) {
      failures.push(`completing the last chained task ${last.id}: ${describe(error)}`)
    }
  }
  db.close()
  finished = true
  await send({
    type: 'report', role: 'worker', workerId: options.workerId, cycles, elapsedMs, cpuMs,
    claimedIds, claimTokens, claimLatenciesMs, heartbeatLatenessMs: [], windows: Array.from(windows, (n) => n ?? 0),
    busy, empty, heldCompleted, failures,
  })
  process.disconnect()
}

/** Whether better-sqlite3 refused a statement with SQLITE_BUSY (or one of its extended codes). */
function isBusy(error: unknown): boolean {
  return String(codeOf(error)).startsWith('SQLITE_BUSY')
}

/**
 * Runs `step` until it is not refused with SQLITE_BUSY, calling `onBusy` for each refusal: a refused
 * transaction rolled back, so it is run again (a claimed task is never left uncompleted).
 */
function untilNotBusy<T>(step: () => T, onBusy: () => void): T {
  for (;;) {
    try {
      return step()
    } catch (error) {
      if (!isBusy(error)) throw error
      onBusy()
    }
  }
}

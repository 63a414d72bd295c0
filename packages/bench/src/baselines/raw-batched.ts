import { join } from 'node:path'
import { Stopwatch } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { readyBacklog } from '../scenarios/backlog.ts'
import { type RawClaimed, type RawClaimLoop, rawClaimLoop } from './raw-claim.ts'
import { openRaw, type RawRows, rawTasksSchema, type Synchronous } from './raw-database.ts'
import { createRawBoard, rawBoardLoop } from './raw-board.ts'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * How many claim+complete cycles `raw-batched` runs per transaction: as many as `board-callers8`
 * has concurrent callers, whose transactions group commit may share.
 */
export const RAW_BATCH_CYCLES = 8

/**
 * `raw-batched` (rows `tasks`): the raw claim loop of `raw-claim` (the same prepared statements, same schema and
 * backlog), but {@link RAW_BATCH_CYCLES} claim+complete cycles share one BEGIN IMMEDIATE / COMMIT.
 * No run rows, no events. It is the ceiling of what group commit with 8 callers could reach on
 * raw SQLite: one commit (one fsync under FULL) per 8 cycles, and nothing but the driver's and
 * SQLite's CPU per statement. Where it stays below `osync`, C5's goal is out of reach for SQLite
 * itself on this machine, whatever kanban-db does.
 *
 * `raw-board-batched` (rows `board`): the same batches of `raw-board`'s loop, which writes what the
 * board writes per cycle (a run row and two events besides the task). Where it stays below `osync`,
 * no implementation that writes the board's rows can hold C5 here.
 *
 * `raw-board-batched-claims-first` (`claimsFirst`): the same statements, but the 8 claims commit
 * together before their 8 completions: a board's caller sees its claim only once it is committed, so
 * eight callers can share at best one commit per four cycles. M2's ceiling.
 */
export function rawBatched(synchronous: Synchronous, rows: RawRows = 'tasks', claimsFirst = false): Contender {
  const name = `${rows === 'tasks' ? 'raw-batched' : 'raw-board-batched'}${claimsFirst ? '-claims-first' : ''}`
  const shape = claimsFirst
    ? `${RAW_BATCH_CYCLES} claims per transaction, then their completions in the next`
    : `${RAW_BATCH_CYCLES} cycles per transaction`
  return {
    id: `${name}/${synchronous}`,
    description: `better-sqlite3 ${rows === 'tasks' ? 'claim + complete' : "running the board's claim and complete statements"}, ${shape}, ${synchronous}; cycles per second`,
    kind: 'baseline',
    run: async (context: RunContext): Promise<RunResult> => {
      const { db, loop, verify } = await openBatchedLoop(rows, join(context.dir, `${name}.db`), synchronous, name)
      try {
        loop.refill(readyBacklog(context))
        const failures: string[] = []
        const seen = new Set<string>()
        const watch = new Stopwatch()
        let cycles = 0
        let commits = 0
        // Process CPU (user + system) over the measured stretches only, to set against wall time.
        let cpuUs = 0
        let cpuSince: NodeJS.CpuUsage | undefined
        while (watch.elapsedMs < context.durationMs && failures.length === 0) {
          watch.resume()
          cpuSince ??= process.cpuUsage()
          const batch = claimsFirst ? claimsThenCompletions(loop) : cyclesInOneCommit(loop)
          commits += batch.length === 0 ? 0 : claimsFirst ? 2 : 1
          for (const { claimed, completed } of batch) {
            if (!completed) failures.push(`${name}: task ${claimed.id} could not be completed with its own token`)
            if (seen.has(claimed.id)) failures.push(`${name}: task ${claimed.id} claimed twice`)
            seen.add(claimed.id)
          }
          cycles += batch.length
          if (batch.length < RAW_BATCH_CYCLES) {
            // The ready queue ran dry: refill outside the measured time, as raw-claim does.
            watch.pause()
            cpuUs += cpuSpentSince(cpuSince)
            cpuSince = undefined
            loop.refill(readyBacklog(context))
          }
        }
        watch.pause()
        if (cpuSince) cpuUs += cpuSpentSince(cpuSince)
        failures.push(...verify(cycles))
        return {
          figures: {
            perSecond: (cycles * 1000) / watch.elapsedMs,
            commitsPerSecond: (commits * 1000) / watch.elapsedMs,
            cpuUsPerCycle: cpuUs / cycles,
            wallUsPerCycle: (watch.elapsedMs * 1000) / cycles,
          },
          failures: failures.slice(0, 5),
        }
      } finally {
        db.close()
      }
    },
  }
}

/** Up to {@link RAW_BATCH_CYCLES} claims (fewer when the ready queue runs dry), each passed to `then`. */
function claimEach<T>(loop: RawClaimLoop, then: (claimed: RawClaimed) => T): T[] {
  const done: T[] = []
  for (let i = 0; i < RAW_BATCH_CYCLES; i++) {
    const claimed = loop.claim(Date.now(), 60_000)
    if (!claimed) break
    done.push(then(claimed))
  }
  return done
}

const completed = (loop: RawClaimLoop) => (claimed: RawClaimed) => ({ claimed, completed: loop.complete(claimed.id, claimed.token) })

/** {@link RAW_BATCH_CYCLES} claim+complete cycles in one transaction. */
function cyclesInOneCommit(loop: RawClaimLoop): { claimed: RawClaimed; completed: boolean }[] {
  return loop.batch(() => claimEach(loop, completed(loop)))
}

/**
 * {@link RAW_BATCH_CYCLES} claims in one transaction, then their completions in a second: the shape
 * group commit gets from callers that each claim, see their claim committed, then complete.
 */
function claimsThenCompletions(loop: RawClaimLoop): { claimed: RawClaimed; completed: boolean }[] {
  const claims = loop.batch(() => claimEach(loop, (claimed) => claimed))
  if (claims.length === 0) return []
  return loop.batch(() => claims.map(completed(loop)))
}

/** Opens the database and prepares the loop that writes `rows`, with the check of its rows after a run. */
async function openBatchedLoop(
  rows: RawRows,
  path: string,
  synchronous: Synchronous,
  label: string,
): Promise<{ db: BetterSqlite3.Database; loop: RawClaimLoop; verify: (cycles: number) => string[] }> {
  if (rows === 'board') {
    const { db, drift } = await createRawBoard(path, synchronous)
    const loop = rawBoardLoop(db, label)
    return { db, loop, verify: (cycles) => [...drift, ...loop.verify(cycles, label)] }
  }
  const db = openRaw(path, synchronous)
  db.exec(rawTasksSchema)
  const verify = (cycles: number): string[] => {
    const done = Number(db.prepare("SELECT count(*) FROM tasks WHERE status = 'done'").pluck().get())
    return done === cycles ? [] : [`${label}: ${cycles} cycles completed but ${done} tasks are done`]
  }
  return { db, loop: rawClaimLoop(db, label), verify }
}

/** Microseconds of process CPU (user + system) spent since `since`. */
function cpuSpentSince(since: NodeJS.CpuUsage): number {
  const spent = process.cpuUsage(since)
  return spent.user + spent.system
}

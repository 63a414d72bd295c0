import { execFileSync } from 'node:child_process'
import { hostname } from 'node:os'
import { repoRoot } from '../options.ts'
import { Stopwatch } from '../clock.ts'
import type { Contender, RunContext, RunResult } from '../contender.ts'
import { readyBacklog } from '../scenarios/backlog.ts'
import { PgRawLoop, verifyPgCycles } from './pg-raw-loop.ts'
import { fillPgBoard, freshSchema, openPgBoard, postgresUrl, withFreshSchema, dropSchema, describeServer } from './pg-server.ts'
import { pgStatementDrift, recordPgBoardStatements } from './pg-statements.ts'

const LEASE_MS = 60_000

let recordedDrift: Promise<string[]> | undefined

/**
 * The board's statements on Postgres, recorded once per bench process on a scratch schema (dropped
 * afterwards) and compared with the raw loop's: the drift, one failure per operation that differs.
 */
export function pgDrift(): Promise<string[]> {
  recordedDrift ??= (async () => {
    const url = postgresUrl()
    const schema = freshSchema('record')
    try {
      return pgStatementDrift(await recordPgBoardStatements(url, schema))
    } finally {
      await dropSchema(url, schema)
    }
  })()
  return recordedDrift
}

let serverNote: Promise<string> | undefined

/**
 * The server's version and commit settings, and which engine was measured (the commit, and whether
 * core or adapter-postgres had uncommitted changes when the bench ran), read once per run for the notes.
 */
export function pgServerNote(): Promise<string> {
  serverNote ??= describeServer(postgresUrl()).then((text) => `server: ${text}; engine: ${engineRevision()}`)
  return serverNote
}

function engineRevision(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8' }).trim()
    const dirty = git('status', '--porcelain', '--', 'packages/core/src', 'packages/adapter-postgres/src')
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ` with uncommitted changes in ${dirty.split('\n').map((l) => l.slice(3)).join(', ')}` : ''}`
  } catch {
    return 'commit unknown (no git)'
  }
}

/**
 * Runs `cycle` (one claim+complete, false when the queue was empty) for `durationMs` of measured
 * time; an empty queue is refilled with `refill`, outside the measured time.
 */
async function timedCycles(context: RunContext, cycle: () => Promise<boolean>, refill: () => Promise<void>): Promise<{ cycles: number; elapsedMs: number }> {
  const watch = new Stopwatch()
  let cycles = 0
  watch.resume()
  while (watch.elapsedMs < context.durationMs) {
    if (await cycle()) {
      cycles++
      continue
    }
    watch.pause()
    await refill()
    watch.resume()
  }
  watch.pause()
  return { cycles, elapsedMs: watch.elapsedMs }
}

/**
 * `pg-raw-board` (P1's baseline): one process, one connection, the hand-written node-postgres loop
 * running the board's own claim and complete statements ({@link PgRawLoop}), two transactions per
 * cycle, on a schema `openBoard` created (the board's tables, indexes and triggers: the event-order
 * lock and the wake NOTIFY fire for it too). Fails on statement drift.
 */
export function pgRawBoard(): Contender {
  return {
    id: 'pg-raw-board',
    description: "node-postgres on one connection running the board's own claim and complete statements, two transactions; cycles per second",
    kind: 'baseline',
    run: (context) =>
      withFreshSchema('raw_board', async (url, schema): Promise<RunResult> => {
        const drift = await pgDrift()
        const setup = await openPgBoard(url, schema)
        let loop: PgRawLoop | undefined
        try {
          await fillPgBoard(setup, readyBacklog(context))
          // Prepared, as the board's engine sends its statements: P1 compares like with like.
          loop = await PgRawLoop.connect(url, schema, 'pg-raw-board', true)
          const raw = loop
          const failures: string[] = [...drift]
          let refills = 0
          const { cycles, elapsedMs } = await timedCycles(
            context,
            async () => {
              const task = await raw.claim(LEASE_MS)
              if (!task) return false
              if (!(await raw.complete(task.id, task.token))) failures.push(`task ${task.id} could not be completed with its own token`)
              return true
            },
            () => fillPgBoard(setup, readyBacklog(context), ++refills * 1_000_000),
          )
          failures.push(...(await verifyPgCycles(url, schema, cycles, 'pg-raw-board')))
          return { figures: { perSecond: (cycles * 1000) / elapsedMs }, failures: failures.slice(0, 5), notes: [await pgServerNote()] }
        } finally {
          await loop?.close()
          await setup.close()
        }
      }),
  }
}

/**
 * `pg-board` (P1): one process, one caller, `claimNext` then `complete` through `openBoard` on the
 * Postgres engine (default pool): the same two transactions as {@link pgRawBoard}.
 */
export function pgBoard(): Contender {
  return {
    id: 'pg-board',
    description: 'openBoard on Postgres, 1 caller claimNext + complete; cycles per second',
    kind: 'kanban-db',
    run: (context) =>
      withFreshSchema('board', async (url, schema): Promise<RunResult> => {
        const board = await openPgBoard(url, schema)
        try {
          await fillPgBoard(board, readyBacklog(context))
          const claim = { workerId: 'pg-board', pid: process.pid, host: hostname(), leaseMs: LEASE_MS }
          const failures: string[] = []
          const tokens = new Set<string>()
          let refills = 0
          const { cycles, elapsedMs } = await timedCycles(
            context,
            async () => {
              const task = await board.claimNext(claim)
              if (!task) return false
              if (tokens.has(task.claimToken)) failures.push(`claim token ${task.claimToken} handed out twice`)
              tokens.add(task.claimToken)
              await board.complete(task.id, task.claimToken, { ok: true })
              return true
            },
            () => fillPgBoard(board, readyBacklog(context), ++refills * 1_000_000),
          )
          failures.push(...(await verifyPgCycles(url, schema, cycles, 'pg-board')))
          return { figures: { perSecond: (cycles * 1000) / elapsedMs }, failures: failures.slice(0, 5) }
        } finally {
          await board.close()
        }
      }),
  }
}

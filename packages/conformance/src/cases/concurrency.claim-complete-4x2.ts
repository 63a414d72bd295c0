import { ALL_ENGINES, type ConformanceCase } from '../case.js'
import { claimPaths, describeShares, runClaimComplete } from '../claim-complete-run.js'

/**
 * The fleet in miniature: 4 processes x 2 worker threads (each loading the adapter by module name,
 * or the Postgres engine, and running `board.work`) claim and complete 2,000 tasks with
 * dependencies, which this process creates in batches over at least 10 s. Passes on invariants only
 * (see `runClaimComplete`), never on timing. On every engine; the `-wal` size and `integrity_check` where SQLite has them.
 */
export const claimComplete4x2: ConformanceCase = {
  id: 'concurrency.claim-complete-4x2',
  title: '4 processes x 2 worker threads of board.work claim and complete 2,000 tasks over 10+ s: each completed once, no double claim, dependency order, full event log, no BUSY, integrity ok (SQLite)',
  tier: 'concurrency',
  engines: ALL_ENGINES,
  requires: ['sharedFile', 'wal', 'workerThreads'],
  timeoutMs: 300_000,
  async run(context) {
    const measures = await runClaimComplete(context, { processes: 4, threads: 2, load: { tasks: 2_000 }, durationMs: 10_000, batch: 50 })
    context.note(`${measures.tasks} tasks produced over ${Math.round(measures.elapsedMs)} ms, all completed after ${Math.round(measures.totalMs)} ms; ${describeShares(measures)}`)
    const paths = claimPaths(measures)
    context.note(`claims: ${paths.chained} chained into a completion (completeAndClaimNext), ${paths.plain} by claimNext`)
    if (measures.maxWalBytes !== undefined) context.note(`largest -wal seen: ${measures.maxWalBytes} bytes over ${measures.walSamples} samples`)
    const fds = measures.processes.map((process) => `${process.fds.first}->${process.fds.max} max`).join(', ')
    context.note(`fds per worker process (first sample -> max): ${fds}`)
  },
}

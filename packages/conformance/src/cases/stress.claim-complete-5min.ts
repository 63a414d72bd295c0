import { strict as assert } from 'node:assert'
import { ALL_ENGINES, type ConformanceCase } from '../case.js'
import { describeShares, runClaimComplete } from '../claim-complete-run.js'

/** The run's length; `KANBAN_CONFORMANCE_STRESS_MS` shortens or lengthens it. */
const DURATION_MS = Number(process.env.KANBAN_CONFORMANCE_STRESS_MS ?? 300_000)
/** The WAL must stay below this while the fleet runs (checkpoints keep up, nothing pins a snapshot). */
const WAL_BOUND_BYTES = 64 * 1024 * 1024
/** Growth of a worker process's open fds over the run that still counts as no leak. */
const FD_SLACK = 8

/**
 * Opt-in: the claim-complete fleet (4 processes x 2 threads) under a steady backlog for 5 minutes,
 * with the same invariants as `concurrency.claim-complete-4x2`, plus bounds on what grows when
 * something leaks: the `-wal` size (sampled by stat, SQLite only) stays bounded, and no worker
 * process's fd count grows (on Postgres its fds are its connections, so a leaked connection shows).
 */
export const stressClaimComplete5min: ConformanceCase = {
  id: 'stress.claim-complete-5min',
  title: 'the 4x2 claim-complete fleet for 5 minutes: the same invariants, WAL size bounded, fd counts flat',
  tier: 'stress',
  engines: ALL_ENGINES,
  requires: ['sharedFile', 'wal', 'workerThreads'],
  timeoutMs: DURATION_MS * 3 + 300_000,
  async run(context) {
    const measures = await runClaimComplete(context, { processes: 4, threads: 2, load: { backlog: 400 }, durationMs: DURATION_MS, batch: 100 })
    context.note(`${measures.tasks} tasks over ${Math.round(measures.elapsedMs)} ms, all completed after ${Math.round(measures.totalMs)} ms; ${describeShares(measures)}`)
    if (measures.maxWalBytes !== undefined) {
      context.note(`largest -wal seen: ${measures.maxWalBytes} bytes over ${measures.walSamples} samples (bound ${WAL_BOUND_BYTES})`)
      assert.ok(measures.maxWalBytes <= WAL_BOUND_BYTES, `the WAL grew to ${measures.maxWalBytes} bytes (bound ${WAL_BOUND_BYTES})`)
    }
    const fds = measures.processes.map((process) => `${process.fds.first}->${process.fds.max} (${process.fds.samples} samples)`)
    context.note(`fds per worker process, first sample -> max: ${fds.join(', ')}`)
    for (const process of measures.processes) {
      assert.ok(process.fds.max - process.fds.first <= FD_SLACK, `worker process ${process.pid} grew from ${process.fds.first} to ${process.fds.max} open fds`)
    }
  },
}

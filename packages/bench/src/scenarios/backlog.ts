import type { RunContext } from '../contender.ts'

/**
 * How many ready tasks every claim scenario keeps on hand, raw or kanban-db: a refill tops the ready
 * queue up to this (outside the measured time, except the fleet dispatcher's, which is part of the
 * fleet's load). One size for all, so a claim whose cost grows with the ready queue pays the same
 * in every contender. Smaller in smoke mode, where set-up time dominates.
 */
export function readyBacklog(context: RunContext): number {
  return context.options.smoke ? 500 : 5000
}

/**
 * How many ready tasks a scenario without a refill needs so it never runs dry: the raw claim loop's
 * rate over the run, with a margin.
 */
export function backlogFor(context: RunContext, rawContender: string, processes = 1): number {
  const rate = context.earlier.get(rawContender)?.['perSecond'] ?? 10_000
  return Math.min(400_000, Math.ceil((rate * processes * context.durationMs * 1.5) / 1000) + 1000)
}

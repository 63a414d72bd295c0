import type { Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
import type { BoardSchema } from '../schema/board-schema.js'
import type { RunOutcome } from './types.js'

/** Closes an open run with its outcome (a no-op for a run already closed). */
export async function endRun(
  trx: Kysely<BoardSchema>,
  runId: string | null,
  outcome: RunOutcome,
  now: number,
  error: string | null = null,
): Promise<void> {
  if (runId === null) return
  await closeRun.execute(trx, { runId, outcome, error, now })
}

const closeRun = new PreparedQuery<BoardSchema, { runId: string; outcome: RunOutcome; error: string | null; now: number }>((db, params) =>
  db.updateTable('task_runs').set({ ended_at: params.now, outcome: params.outcome, error: params.error }).where('id', '=', params.runId).where('ended_at', 'is', null),
)

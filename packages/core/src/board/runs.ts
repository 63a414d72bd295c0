import type { Kysely } from 'kysely'
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
  await trx
    .updateTable('task_runs')
    .set({ ended_at: now, outcome, error })
    .where('id', '=', runId)
    .where('ended_at', 'is', null)
    .execute()
}

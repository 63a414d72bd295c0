import type { Kysely } from 'kysely'
import { PreparedQuery } from '../kysely/prepared-query.js'
import type { BoardSchema, TaskRunRow } from '../schema/board-schema.js'
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

/** What an attempt hands in besides its outcome, kept on its run (JSON already validated). */
export interface RunNotes {
  readonly summary: string | null
  readonly resultJson: string | null
  readonly metadataJson: string | null
}

/** True when the notes carry anything to store. */
export function hasNotes(notes: RunNotes | undefined): notes is RunNotes {
  return notes !== undefined && (notes.summary !== null || notes.resultJson !== null || notes.metadataJson !== null)
}

/**
 * {@link endRun} that also keeps what the attempt handed in (summary, result, metadata), so later
 * attempts can read it (`runs(taskId)`). Only the notes given are written.
 */
export async function endRunWithNotes(
  trx: Kysely<BoardSchema>,
  runId: string | null,
  outcome: RunOutcome,
  now: number,
  error: string | null,
  notes: RunNotes | undefined,
): Promise<void> {
  if (!hasNotes(notes)) return endRun(trx, runId, outcome, now, error)
  if (runId === null) return
  await trx
    .updateTable('task_runs')
    .set({
      ended_at: now,
      outcome,
      error,
      ...(notes.summary !== null ? { summary: notes.summary } : {}),
      ...(notes.resultJson !== null ? { result: notes.resultJson } : {}),
      ...(notes.metadataJson !== null ? { metadata: notes.metadataJson } : {}),
    })
    .where('id', '=', runId)
    .where('ended_at', 'is', null)
    .execute()
}

/** The task's runs, oldest attempt first (a work run before the review runs of its attempt). */
export async function runsOf(db: Kysely<BoardSchema>, taskId: string): Promise<TaskRunRow[]> {
  return db
    .selectFrom('task_runs')
    .selectAll()
    .where('task_id', '=', taskId)
    .orderBy('attempt')
    .orderBy((eb) => eb.case().when('role', '=', 'work').then(0).else(1).end())
    .orderBy('started_at')
    .orderBy('id')
    .execute()
}

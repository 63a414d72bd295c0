import type { Board } from '@kanban-db/core'

/** Titles of the crash writer's batch tasks: `batch <batch>.<index>`. */
const BATCH_TITLE = /^batch (\S+)\.(\d+)$/

/**
 * What on `board` is half applied, as readable lines (empty: nothing). Engine-neutral (rows read
 * through `board.db`), so it is the Postgres form of "the crash left the board whole" and, on SQLite,
 * a check beside `integrity_check`:
 * - every batch `batch <b>.<i>` has all `batchSize` tasks (a batch is one transaction);
 * - every task has exactly one `created` event, and every event names a task;
 * - every claim is whole: a task has one run per attempt and one `claimed` event per run, a running
 *   task exactly one open run (its `current_run_id`), any other task none.
 * For boards without reviews (a reviewer's claim opens a run of its own): the crash writer's.
 */
export async function halfAppliedRows(board: Board, batchSize: number): Promise<string[]> {
  const problems: string[] = []
  const tasks = await board.db.selectFrom('tasks').select(['id', 'title', 'status', 'attempts', 'current_run_id']).execute()
  const runs = await board.db.selectFrom('task_runs').select(['id', 'task_id', 'ended_at']).execute()
  const events = await board.db.selectFrom('events').select(['task_id', 'kind']).execute()

  const batches = new Map<string, number>()
  for (const task of tasks) {
    const batch = BATCH_TITLE.exec(task.title)?.[1]
    if (batch !== undefined) batches.set(batch, (batches.get(batch) ?? 0) + 1)
  }
  for (const [batch, count] of batches) if (count !== batchSize) problems.push(`batch ${batch} has ${count} of its ${batchSize} tasks`)

  const ids = new Set(tasks.map((task) => task.id))
  const created = new Map<string, number>()
  const claimed = new Map<string, number>()
  for (const event of events) {
    if (!ids.has(event.task_id)) problems.push(`a ${event.kind} event names task ${event.task_id}, which does not exist`)
    if (event.kind === 'created') created.set(event.task_id, (created.get(event.task_id) ?? 0) + 1)
    if (event.kind === 'claimed') claimed.set(event.task_id, (claimed.get(event.task_id) ?? 0) + 1)
  }
  const runsOf = new Map<string, Array<{ id: string; open: boolean }>>()
  for (const run of runs) {
    if (!ids.has(run.task_id)) problems.push(`run ${run.id} belongs to task ${run.task_id}, which does not exist`)
    const list = runsOf.get(run.task_id) ?? []
    list.push({ id: run.id, open: run.ended_at === null })
    runsOf.set(run.task_id, list)
  }
  for (const task of tasks) {
    const createdEvents = created.get(task.id) ?? 0
    if (createdEvents !== 1) problems.push(`task ${task.id} has ${createdEvents} created events`)
    const taskRuns = runsOf.get(task.id) ?? []
    const attempts = Number(task.attempts)
    if (taskRuns.length !== attempts) problems.push(`task ${task.id} has ${taskRuns.length} runs for ${attempts} attempts`)
    const claimedEvents = claimed.get(task.id) ?? 0
    if (claimedEvents !== taskRuns.length) problems.push(`task ${task.id} has ${claimedEvents} claimed events for ${taskRuns.length} runs`)
    const open = taskRuns.filter((run) => run.open)
    if (task.status === 'running') {
      if (open.length !== 1 || open[0]!.id !== task.current_run_id) problems.push(`running task ${task.id} has open runs [${open.map((run) => run.id).join(', ')}], current run ${task.current_run_id}`)
    } else if (open.length > 0) {
      problems.push(`${task.status} task ${task.id} has ${open.length} open runs`)
    }
  }
  return problems
}

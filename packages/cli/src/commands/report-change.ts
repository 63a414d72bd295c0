import { TaskNotFound, type Board, type Task } from '@kanban-db/core'
import { writeJson } from '../output/json.js'
import { paintStatus } from '../output/task-view.js'
import { EXIT, type ExitCode } from './exit-codes.js'
import type { CommandContext } from './command.js'

/** The task, or `TaskNotFound` (exit 3) naming the board and how to list its tasks. */
export async function existingTask(board: Board, taskId: string): Promise<Task> {
  const task = await board.getTask(taskId)
  if (!task) throw new TaskNotFound(`No task ${taskId} on ${board.location}.`, { details: { taskId } })
  return task
}

/** Prints what an operator's change did: `ID: blocked -> ready` (or the task as JSON). */
export function reportChange(context: CommandContext, verb: string, before: Task, after: Task, detail = ''): ExitCode {
  if (context.json) writeJson(context.stdout, after)
  else {
    const change = before.status === after.status ? paintStatus(after.status, context.color) : `${paintStatus(before.status, context.color)} -> ${paintStatus(after.status, context.color)}`
    context.stdout.write(`${verb} ${after.id}${detail}: ${change}\n`)
  }
  return EXIT.ok
}

import { invalid } from './invalid-input.js'
import type { Board, Task } from '@kanban-db/core'

/** The operator actions the live board offers (only when started with actions allowed). */
export const ACTIONS = ['unblock', 'archive', 'reassign'] as const
export type BoardAction = (typeof ACTIONS)[number]

/** True for a path segment naming an action. */
export function isBoardAction(name: string): name is BoardAction {
  return (ACTIONS as readonly string[]).includes(name)
}

/** Runs one action on a task with the posted form's fields; the board's own errors pass through. */
export async function runAction(board: Board, taskId: string, action: BoardAction, form: URLSearchParams): Promise<Task> {
  switch (action) {
    case 'unblock':
      return board.unblock(taskId)
    case 'archive':
      return board.archive(taskId)
    case 'reassign': {
      const assignee = form.get('assignee')
      if (assignee === null) throw invalid('assignee', 'the form has no assignee field (send an empty one for any claimer)')
      return board.reassign(taskId, assignee.trim() === '' ? null : assignee.trim(), { reason: 'reassigned from kanban-db serve' })
    }
  }
}

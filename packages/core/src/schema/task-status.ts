/** Where a task is in its life: the values the `tasks.status` column holds. */
export type TaskStatus = 'triage' | 'todo' | 'scheduled' | 'ready' | 'running' | 'review' | 'blocked' | 'done' | 'failed' | 'archived'

/** Every status, in the order a task usually meets them. */
export const TASK_STATUSES: readonly TaskStatus[] = ['triage', 'todo', 'scheduled', 'ready', 'running', 'review', 'blocked', 'done', 'failed', 'archived']

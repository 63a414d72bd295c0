import { TASK_STATUSES, type Board, type TaskStatus } from '@kanban-db/core'

/** Most cards a column shows; its count is always the full one. */
export const CARDS_PER_COLUMN = 50

/** What a card shows of a task. */
export interface Card {
  readonly id: string
  readonly title: string
  readonly priority: number
  readonly assignee: string | null
  readonly attempts: number
  readonly updatedAt: number
  /** Why it is blocked, or the last error, when there is one. */
  readonly note: string | null
}

/** One column: a status, how many tasks it holds, and the cards shown (newest change first). */
export interface Column {
  readonly status: TaskStatus
  readonly count: number
  readonly cards: readonly Card[]
}

/** Reads every column: one grouped count, then the newest {@link CARDS_PER_COLUMN} cards of each non-empty status. */
export async function readColumns(board: Board): Promise<Column[]> {
  const counts = await board.db
    .selectFrom('tasks')
    .select((eb) => ['status', eb.fn.countAll().as('n')])
    .groupBy('status')
    .execute()
  const countOf = new Map(counts.map((row) => [row.status, Number(row.n)]))
  return Promise.all(
    TASK_STATUSES.map(async (status) => {
      const count = countOf.get(status) ?? 0
      if (count === 0) return { status, count, cards: [] }
      const rows = await board.db
        .selectFrom('tasks')
        .select(['id', 'title', 'priority', 'assignee', 'attempts', 'updated_at', 'block_reason', 'last_error'])
        .where('status', '=', status)
        .orderBy('updated_at', 'desc')
        .orderBy('id', 'desc')
        .limit(CARDS_PER_COLUMN)
        .execute()
      const cards = rows.map((row) => ({
        id: row.id,
        title: row.title,
        priority: Number(row.priority),
        assignee: row.assignee,
        attempts: Number(row.attempts),
        updatedAt: Number(row.updated_at),
        note: status === 'blocked' ? row.block_reason : status === 'failed' ? row.last_error : null,
      }))
      return { status, count, cards }
    }),
  )
}

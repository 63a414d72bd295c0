import { openBoard } from '@kanban-db/core'
import { type SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'

/**
 * The other process of `memory.open-close-cycles`: opens the board file `args.path`, sends
 * `{ writing: true }` after its first task, and creates tasks one at a time until the parent sends
 * any message; then it closes the board and returns `{ created }`.
 */
export async function memoryWriter(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const board = await openBoard({ path: String(args.path), adapter })
  let stop = false
  void channel.receive().then(() => {
    stop = true
  })
  let created = 0
  try {
    while (!stop) {
      await board.createTask({ title: `written while another process opens and closes the board (${created})` })
      created += 1
      if (created === 1) await channel.send({ writing: true })
      // A short pause between tasks: the board keeps changing without holding its write lock all the time.
      await new Promise<void>((resolve) => setTimeout(resolve, 2))
    }
  } finally {
    await board.close()
  }
  return { created }
}

import type { SqliteAdapter } from '@kanban-db/core/adapter'
import type { TaskChannel } from '../task-channel.js'

/**
 * The framework's own probe: sends `hello` with the adapter's name, then echoes each message the
 * parent sends until it sends `'stop'`, and returns how many it echoed. With `hang: true` it
 * never returns (for reaping tests).
 */
export async function echo(adapter: SqliteAdapter, args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  await channel.send({ hello: adapter.identity.name, pid: process.pid })
  if (args.hang === true) await new Promise(() => setInterval(() => {}, 1_000))
  let echoed = 0
  for (;;) {
    const message = await channel.receive()
    if (message === 'stop') return { echoed }
    await channel.send(message)
    echoed += 1
  }
}

import type { ChannelMessage, StartMessage } from './task-channel.js'
import { MessageQueue } from './task-channel.js'
import { runTask } from './run-task.js'

/**
 * The entry of every conformance child process. The parent sends a `start` message over IPC, then
 * any number of `message`s; the task's own messages and its result go back the same way.
 */
const inbox = new MessageQueue()
process.on('message', (message: StartMessage | ChannelMessage) => {
  if (message.kind === 'start') {
    void runTask(message, {
      send: (value) => new Promise<void>((resolve) => process.send?.({ kind: 'message', value }, () => resolve())),
      receive: () => inbox.take(),
    }).then((result) => process.send?.(result, () => process.exit(result.ok ? 0 : 1)))
  } else {
    inbox.push(message.value)
  }
})
// The parent died or disconnected: nobody can reap us, so leave.
process.on('disconnect', () => process.exit(2))

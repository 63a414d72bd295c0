import { parentPort, workerData } from 'node:worker_threads'
import type { ChannelMessage, StartMessage } from './task-channel.js'
import { MessageQueue } from './task-channel.js'
import { runTask } from './run-task.js'

/**
 * The entry of every conformance worker thread: like the child process entry, but the start
 * message arrives as `workerData` and messages travel over `parentPort`.
 */
const port = parentPort
if (!port) throw new Error('the conformance worker entry must run in a worker thread')
const inbox = new MessageQueue()
port.on('message', (message: ChannelMessage) => inbox.push(message.value))
void runTask(workerData as StartMessage, {
  send: async (value) => port.postMessage({ kind: 'message', value }),
  receive: () => inbox.take(),
}).then((result) => {
  port.postMessage(result)
  port.close()
})

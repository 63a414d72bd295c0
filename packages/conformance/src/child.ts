import { loadAdapter } from '@kanban-db/core'
import { childTasks } from './child-tasks/index.js'

/**
 * The entry of every conformance child process: receive `{ task, args, moduleName }` over IPC,
 * load the adapter by module name, run the task, send `{ ok, value }` back, exit.
 */
process.once('message', (message: { task: string; args: Record<string, unknown>; moduleName: string; resolveFrom: string }) => {
  void (async () => {
    try {
      const task = childTasks[message.task]
      if (!task) throw new Error(`no child task '${message.task}'`)
      const adapter = await loadAdapter(message.moduleName, message.resolveFrom)
      const value = await task(adapter, message.args)
      process.send?.({ ok: true, value }, () => process.exit(0))
    } catch (error) {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      process.send?.({ ok: false, error: text }, () => process.exit(1))
    }
  })()
})

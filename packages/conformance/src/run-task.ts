import { loadAdapter } from '@kanban-db/core'
import { childTasks } from './child-tasks/index.js'
import type { ResultMessage, StartMessage, TaskChannel } from './task-channel.js'

/**
 * The body of both task entries (a child process, a worker thread): load the adapter by module
 * name as a deployment would, run the named task, and describe how it ended.
 */
export async function runTask(start: StartMessage, channel: TaskChannel): Promise<ResultMessage> {
  try {
    const task = childTasks[start.task]
    if (!task) throw new Error(`no child task '${start.task}'`)
    const adapter = await loadAdapter(start.moduleName, start.resolveFrom)
    const value = await task(adapter, start.args, channel)
    return { kind: 'result', ok: true, value }
  } catch (error) {
    return { kind: 'result', ok: false, error: describeError(error) }
  }
}

/** `Name [CODE]: message` plus the cause chain, so a child's failure reads well in the parent. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const code = (error as { code?: unknown }).code
  let text = `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`
  if (error.cause !== undefined) text += ` (cause: ${describeError(error.cause)})`
  return text
}

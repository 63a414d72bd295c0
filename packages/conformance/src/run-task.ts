import { type SqliteAdapter } from '@kanban-db/core/adapter'
import { loadAdapter } from '@kanban-db/core/internal'
import { childTasks } from './child-tasks/index.js'
import type { ResultMessage, StartMessage, TaskChannel } from './task-channel.js'

/**
 * The body of both task entries (a child process, a worker thread): load the adapter by module
 * name as a deployment would (for a Postgres subject, none: the task opens its board from the spec
 * in its arguments), run the named task, and describe how it ended.
 */
export async function runTask(start: StartMessage, channel: TaskChannel): Promise<ResultMessage> {
  try {
    const task = childTasks[start.task]
    if (!task) throw new Error(`no child task '${start.task}'`)
    const adapter = start.engine === 'postgres' ? noSqliteAdapter(start.task, start.moduleName) : await loadAdapter(start.moduleName, start.resolveFrom)
    const value = await task(adapter, start.args, channel)
    return { kind: 'result', ok: true, value }
  } catch (error) {
    return { kind: 'result', ok: false, error: describeError(error) }
  }
}

/**
 * `Name [CODE errcode N]: message` plus the cause chain, so a child's failure reads well in the
 * parent (`errcode`: node:sqlite's SQLite result code, whose `code` is ERR_SQLITE_ERROR).
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const { code, errcode } = error as { code?: unknown; errcode?: unknown }
  const codes = [typeof code === 'string' ? code : undefined, typeof errcode === 'number' ? `errcode ${errcode}` : undefined].filter((part) => part !== undefined)
  let text = `${error.name}${codes.length > 0 ? ` [${codes.join(' ')}]` : ''}: ${error.message}`
  if (error.cause !== undefined) text += ` (cause: ${describeError(error.cause)})`
  return text
}

/**
 * What a child of a Postgres subject gets in place of a SQLite adapter: any use of it throws,
 * naming the task, so a SQLite-only task started for Postgres fails saying why.
 */
function noSqliteAdapter(task: string, moduleName: string): SqliteAdapter {
  return new Proxy({} as SqliteAdapter, {
    get(_target, property) {
      if (property === 'then' || typeof property === 'symbol') return undefined // not a thenable; inspectable
      throw new Error(`child task ${task} used the SQLite adapter (${String(property)}), but the subject is the Postgres engine (${moduleName}): open the board with openSpecBoard(args.board)`)
    },
  })
}

import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { MessageQueue, type StartMessage, type TaskMessage } from './task-channel.js'
import type { TaskExit, TaskHandle } from './task-handle.js'

/** The built worker entry, beside the child entry in `dist/`. */
const WORKER_ENTRY = fileURLToPath(new URL('../dist/worker.js', import.meta.url))

/** Options for {@link spawnWorkerTask}. */
export interface WorkerTaskOptions {
  /** Module name of the adapter the worker loads (or of the Postgres engine package). */
  readonly moduleName: string
  /** The subject's engine (default `sqlite`): a `postgres` worker loads no SQLite adapter. */
  readonly engine?: 'sqlite' | 'postgres'
  /** Directory module resolution starts from in the worker (default: the current directory). */
  readonly resolveFrom?: string
  /** Terminate the worker after this long; its result then rejects. Default 60 s. */
  readonly timeoutMs?: number
}

/**
 * Starts `task` in a new worker thread that loads the adapter by module name (the same child tasks
 * as {@link spawnChildTask}, the same message channel) and returns its handle at once.
 */
export function spawnWorkerTask<T = unknown>(task: string, args: Record<string, unknown>, options: WorkerTaskOptions): TaskHandle<T> {
  const start: StartMessage = {
    kind: 'start',
    task,
    args,
    moduleName: options.moduleName,
    resolveFrom: options.resolveFrom ?? process.cwd(),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  }
  const worker = new Worker(WORKER_ENTRY, { workerData: start, stdout: true })
  const threadId = worker.threadId
  worker.stdout.resume() // a task's console output is not part of any report
  const inbox = new MessageQueue()
  const received: unknown[] = []
  let reply: Extract<TaskMessage, { kind: 'result' }> | undefined
  let crash: unknown
  let ended = false
  worker.on('message', (message: TaskMessage) => {
    if (message.kind === 'result') {
      reply = message
    } else {
      received.push(message.value)
      inbox.push(message.value)
    }
  })
  worker.on('error', (error) => {
    crash = error
  })
  const timer = setTimeout(() => void worker.terminate(), options.timeoutMs ?? 60_000)
  const exited = new Promise<TaskExit>((resolve) => {
    worker.once('exit', (code) => {
      ended = true
      clearTimeout(timer)
      const why = reply && !reply.ok ? `failed: ${reply.error}` : `ended (code ${code}) before sending another message${crash ? `: ${String(crash)}` : ''}`
      inbox.close(new Error(`worker task ${task} (thread ${threadId}) ${why}`))
      resolve({ code, signal: null })
    })
  })
  const result = exited.then(({ code }) => {
    if (reply?.ok) return reply.value as T
    if (reply) throw new Error(`worker task ${task} failed: ${reply.error}`)
    throw new Error(`worker task ${task} ended (code ${code}) without a result${crash ? `: ${String(crash)}` : ''}`)
  })
  result.catch(() => {})
  return {
    pid: threadId,
    send: (value) => {
      if (!ended) worker.postMessage({ kind: 'message', value })
    },
    receive: () => inbox.take(),
    received,
    result,
    exited,
    kill: () => {
      if (!ended) void worker.terminate()
      return exited
    },
  }
}

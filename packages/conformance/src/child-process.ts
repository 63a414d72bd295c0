import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { MessageQueue, type StartMessage, type TaskMessage } from './task-channel.js'
import type { TaskExit, TaskHandle } from './task-handle.js'

/** The built child entry. Both `src/` and `dist/` sit one level below the package root. */
const CHILD_ENTRY = fileURLToPath(new URL('../dist/child.js', import.meta.url))

/** Options for {@link spawnChildTask} and {@link runChildTask}. */
export interface ChildTaskOptions {
  /** Module name of the adapter the child loads (or of the Postgres engine package). */
  readonly moduleName: string
  /** The subject's engine (default `sqlite`): a `postgres` child loads no SQLite adapter. */
  readonly engine?: 'sqlite' | 'postgres'
  /** Directory module resolution starts from in the child (default: the current directory). */
  readonly resolveFrom?: string
  /** Kill the child (SIGKILL) after this long; its result then rejects. Default 60 s. */
  readonly timeoutMs?: number
  /** Extra flags for `node`. */
  readonly execArgv?: readonly string[]
  /** Extra environment variables for the child. */
  readonly env?: Readonly<Record<string, string>>
}

/**
 * Starts `task` (a name in `src/child-tasks/`) in a fresh Node process with IPC and returns its
 * handle at once. The child loads the adapter by module name, runs the task, may exchange messages
 * with the parent while it runs, and sends its result last. It is killed if it outlives
 * `timeoutMs`; if the parent disconnects it exits.
 */
export function spawnChildTask<T = unknown>(task: string, args: Record<string, unknown>, options: ChildTaskOptions): TaskHandle<T> {
  const child = fork(CHILD_ENTRY, [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: [...(options.execArgv ?? [])],
    env: { ...process.env, ...options.env },
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const inbox = new MessageQueue()
  const received: unknown[] = []
  let reply: Extract<TaskMessage, { kind: 'result' }> | undefined
  child.on('message', (message: TaskMessage) => {
    if (message.kind === 'result') {
      reply = message
    } else {
      received.push(message.value)
      inbox.push(message.value)
    }
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const exited = new Promise<TaskExit>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer)
      const why = reply && !reply.ok ? `failed: ${reply.error}` : `ended (code ${code}, signal ${signal}) before sending another message. stderr: ${stderr}`
      inbox.close(new Error(`child task ${task} (pid ${child.pid}) ${why}`))
      resolve({ code, signal })
    }
    child.once('exit', done)
    // A failed spawn emits 'error' and may never emit 'exit'.
    child.once('error', (error) => {
      stderr += `\n${String(error)}`
      if (child.exitCode === null && child.signalCode === null && child.pid === undefined) done(null, null)
    })
  })
  const result = exited.then(({ code, signal }) => {
    if (reply?.ok) return reply.value as T
    if (reply) throw new Error(`child task ${task} failed: ${reply.error}`)
    throw new Error(`child task ${task} (pid ${child.pid}) exited (code ${code}, signal ${signal}) without a result. stderr: ${stderr}`)
  })
  result.catch(() => {}) // a case that kills its child on purpose need not await the result
  const start: StartMessage = {
    kind: 'start',
    task,
    args,
    moduleName: options.moduleName,
    resolveFrom: options.resolveFrom ?? process.cwd(),
    ...(options.engine === undefined ? {} : { engine: options.engine }),
  }
  child.send(start)
  return {
    pid: child.pid ?? -1,
    send: (value) => {
      if (child.connected) child.send({ kind: 'message', value })
    },
    receive: () => inbox.take(),
    received,
    result,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/**
 * Runs `task` in a fresh child process and resolves with what it returned. The child is always
 * reaped before this settles.
 */
export function runChildTask<T>(task: string, args: Record<string, unknown>, options: ChildTaskOptions): Promise<T> {
  return spawnChildTask<T>(task, args, options).result
}

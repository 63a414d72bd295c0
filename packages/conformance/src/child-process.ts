import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The built child entry. Both `src/` and `dist/` sit one level below the package root. */
const CHILD_ENTRY = fileURLToPath(new URL('../dist/child.js', import.meta.url))

/** Options for {@link runChildTask}. */
export interface ChildTaskOptions {
  /** Module name of the adapter the child loads. */
  readonly moduleName: string
  /** Directory module resolution starts from in the child (default: the current directory). */
  readonly resolveFrom?: string
  /** Kill the child and reject after this long. */
  readonly timeoutMs?: number
  /** Extra arguments to `node` (for example a strace wrapper is separate; this is node flags). */
  readonly execArgv?: readonly string[]
}

/**
 * Runs `task` in a fresh Node process with IPC. The child loads the adapter by module name, runs the
 * task and sends back `{ ok, value }` or `{ ok: false, error }`. The child is killed if it outlives
 * the timeout, and always reaped before this settles.
 */
export function runChildTask<T>(task: string, args: Record<string, unknown>, options: ChildTaskOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(CHILD_ENTRY, [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [...(options.execArgv ?? [])],
    })
    let stderr = ''
    let reply: { ok: true; value: T } | { ok: false; error: string } | undefined
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
    })
    child.on('message', (message) => {
      reply = message as typeof reply
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (reply?.ok) resolve(reply.value)
      else if (reply) reject(new Error(`child task ${task} failed: ${reply.error}`))
      else reject(new Error(`child task ${task} exited (code ${code}, signal ${signal}) without a reply. stderr: ${stderr}`))
    })
    child.send({ task, args, moduleName: options.moduleName, resolveFrom: options.resolveFrom ?? process.cwd() })
  })
}

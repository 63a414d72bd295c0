import { fork, spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { MessageQueue, type StartMessage, type TaskMessage } from './task-channel.js'
import type { TaskExit, TaskHandle } from './task-handle.js'

/**
 * Fault injection at the kernel boundary: a conformance child task runs under
 * `strace -f -qq -o /dev/null -e trace=SYSCALL -P FILE --inject=SYSCALL:error=ERRNO:when=A..B`, so
 * exactly those system calls on that one file fail inside the child's real SQLite. No mock, no
 * wrapper: SQLite sees the errno the kernel would give it.
 *
 * Measured here (strace 6.1): `--inject` only fires for syscalls that are traced, so `-e trace=none`
 * silently injects nothing; the injected syscalls are traced and the trace goes to `plan.log` (or
 * `/dev/null`), where every call that was made to fail ends in `(INJECTED)`.
 * `when=A..B` counts only the calls that match the syscall AND the `-P` path, from the child's start.
 */

/** The built child entry. Both `src/` and `dist/` sit one level below the package root. */
const CHILD_ENTRY = fileURLToPath(new URL('../dist/child.js', import.meta.url))

/** One injected fault: make the A-th to B-th calls of `syscall` on the plan's file fail with `error`. */
export interface InjectedFault {
  /** `pwrite64`, `pread64`, `fsync`, `fdatasync`, `ftruncate`, `fcntl`, ... */
  readonly syscall: string
  /** `EIO`, `ENOSPC`, `EINTR`, `EAGAIN`, ... */
  readonly error: string
  /** strace's `when=` expression, e.g. `10..12` (the 10th to 12th matching call). */
  readonly when: string
}

/** A fault plan: which file, which calls, which errors. */
export interface FaultPlan {
  /** The file (absolute path) whose syscalls fail; a sidecar such as `board.db-wal` may not exist yet. */
  readonly file: string
  readonly faults: readonly InjectedFault[]
  /** Where strace writes its trace of the injected syscalls (default `/dev/null`); see {@link countInjected}. */
  readonly log?: string
}

/** Whether the machine can run fault plans, and if not why. */
export type StraceAvailability = { readonly available: true } | { readonly available: false; readonly reason: string }

let availability: StraceAvailability | undefined

/**
 * Checks once per process that `strace` exists, can inject, and that ptrace is allowed (containers
 * often refuse it). The reason reads as a skip reason.
 */
export function straceAvailability(): StraceAvailability {
  if (availability) return availability
  if (process.platform !== 'linux') return (availability = { available: false, reason: `strace fault injection needs Linux (this is ${process.platform})` })
  const probe = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=getpid', '--inject=getpid:retval=1:when=1', process.execPath, '-e', '0'], {
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (probe.error) {
    const missing = (probe.error as NodeJS.ErrnoException).code === 'ENOENT'
    availability = { available: false, reason: missing ? 'strace is not installed' : `strace could not run: ${probe.error.message}` }
  } else if (probe.status !== 0) {
    const text = `${probe.stderr}`.trim().split('\n')[0] ?? ''
    availability = {
      available: false,
      reason: /ptrace|permitted|denied/i.test(text) ? `ptrace is refused here: ${text}` : `strace cannot inject faults here: ${text}`,
    }
  } else {
    availability = { available: true }
  }
  return availability
}

/** The strace arguments for `plan`, before the traced command. */
export function straceArguments(plan: FaultPlan, quiet = true): string[] {
  const syscalls = [...new Set(plan.faults.map((fault) => fault.syscall))]
  return [
    '-f',
    ...(quiet ? ['-qq'] : []),
    '-o',
    plan.log ?? '/dev/null',
    '-e',
    `trace=${syscalls.join(',')}`,
    '-P',
    plan.file,
    ...plan.faults.map((fault) => `--inject=${fault.syscall}:error=${fault.error}:when=${fault.when}`),
  ]
}

/** Options for {@link spawnTracedTask}. */
export interface TracedTaskOptions {
  /** Module name of the adapter the child loads. */
  readonly moduleName: string
  /** Directory module resolution starts from in the child (default: the current directory). */
  readonly resolveFrom?: string
  /** The faults to inject. */
  readonly plan: FaultPlan
  /** Kill the child (its whole process group) after this long. Default 60 s. */
  readonly timeoutMs?: number
}

/**
 * Starts a conformance child task (a name in `src/child-tasks/`) under strace with `plan`, with the
 * same IPC protocol as every other child task (the IPC channel passes through strace to Node).
 * strace and the traced Node form their own process group, which `kill()` and the timeout end
 * together. The caller must await `kill()` or `exited` (cases do it in `finally`).
 */
export function spawnTracedTask<T = unknown>(task: string, args: Record<string, unknown>, options: TracedTaskOptions): TaskHandle<T> {
  const child = fork(CHILD_ENTRY, [], {
    execPath: 'strace',
    execArgv: [...straceArguments(options.plan), process.execPath],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    detached: true,
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
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal)
    } catch {
      // The group is already gone.
    }
  }
  const timer = setTimeout(() => killGroup('SIGKILL'), options.timeoutMs ?? 60_000)
  const exited = new Promise<TaskExit>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer)
      // strace has ended; make sure nothing it traced outlives it.
      killGroup('SIGKILL')
      inbox.close(new Error(`traced task ${task} (strace pid ${child.pid}) ended (code ${code}, signal ${signal}) before sending another message. stderr: ${stderr}`))
      resolve({ code, signal })
    }
    child.once('exit', done)
    child.once('error', (error) => {
      stderr += `\n${String(error)}`
      if (child.pid === undefined) done(null, null)
    })
  })
  const result = exited.then(({ code, signal }) => {
    if (reply?.ok) return reply.value as T
    if (reply) throw new Error(`traced task ${task} failed: ${reply.error}`)
    throw new Error(`traced task ${task} (strace pid ${child.pid}) exited (code ${code}, signal ${signal}) without a result. stderr: ${stderr}`)
  })
  result.catch(() => {})
  const start: StartMessage = {
    kind: 'start',
    task,
    args,
    moduleName: options.moduleName,
    resolveFrom: options.resolveFrom ?? process.cwd(),
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
      if (child.exitCode === null && child.signalCode === null) killGroup(signal)
      return exited
    },
  }
}

/** A fault plan attached to a running process: see {@link attachFaultPlan}. */
export interface AttachedPlan {
  /** Detaches strace from the process (which goes on untraced) and waits for strace to end. */
  detach(): Promise<void>
}

/**
 * Attaches strace with `plan` to the running process `pid` (every thread) and resolves once it is
 * attached, so `when=A..B` counts the calls made from this moment on: the fault lands on what the
 * process does next (its next commit's WAL writes), whatever its driver did before (how many calls
 * opening and earlier commits took differs between drivers). The process must be waiting for a word
 * from the caller while this runs, and be told to go on once it resolves.
 */
export function attachFaultPlan(pid: number, plan: FaultPlan, timeoutMs = 30_000): Promise<AttachedPlan> {
  // Not quiet: strace's "Process N attached" lines on stderr are the signal it is in place.
  const tracer = spawn('strace', [...straceArguments(plan, false), '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] })
  const ended = new Promise<void>((resolve) => tracer.once('exit', () => resolve()))
  const detach = async () => {
    if (tracer.exitCode === null && tracer.signalCode === null) tracer.kill('SIGINT')
    await ended
  }
  return new Promise<AttachedPlan>((resolve, reject) => {
    let stderr = ''
    const timer = setTimeout(() => {
      void detach()
      reject(new Error(`strace did not attach to pid ${pid} within ${timeoutMs} ms: ${stderr}`))
    }, timeoutMs)
    tracer.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000)
      if (/attached/.test(stderr)) {
        clearTimeout(timer)
        resolve({ detach })
      }
    })
    tracer.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`strace ended (code ${code}, signal ${signal}) before it attached to pid ${pid}: ${stderr}`))
    })
    tracer.once('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
  })
}

/**
 * How many calls strace made fail, from the trace a plan's `log` holds: the proof that a plan fired.
 * Reading the trace file is the test's own bookkeeping, not an open of any database.
 */
export function countInjected(log: string): number {
  let text: string
  try {
    text = readFileSync(log, 'utf8') // --allow-fs: strace's own trace, not a database
  } catch {
    return 0
  }
  return text.split('(INJECTED)').length - 1
}

export { CaseSkipped } from './case-skipped.js'

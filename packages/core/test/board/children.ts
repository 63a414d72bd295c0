import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The repository root: children resolve `@kanban-db/*` from here, to the built `dist/`. */
export const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url))

/** A forked child and the messages it sent, awaited by type. */
export class Child {
  readonly process: ChildProcess
  readonly #messages: Array<{ type: string; [key: string]: unknown }> = []
  readonly #waiters: Array<() => void> = []
  readonly exited: Promise<void>
  stderr = ''

  constructor(script: string) {
    this.process = fork(fileURLToPath(script), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: repositoryRoot })
    this.process.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)))
    this.process.on('message', (message) => {
      this.#messages.push(message as { type: string })
      for (const wake of this.#waiters.splice(0)) wake()
    })
    this.exited = new Promise((resolve) => this.process.once('exit', () => {
      resolve()
      for (const wake of this.#waiters.splice(0)) wake()
    }))
  }

  send(message: object): void {
    this.process.send(message)
  }

  /** The next message of `type` (an `error` message, or an exit before it, rejects). */
  async next(type: string): Promise<Record<string, unknown>> {
    for (;;) {
      const index = this.#messages.findIndex((message) => message.type === type || message.type === 'error')
      if (index >= 0) {
        const [message] = this.#messages.splice(index, 1)
        if (message!.type === 'error') throw new Error(`child failed: ${String(message!.error)}`)
        return message!
      }
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`child exited (${this.process.exitCode ?? this.process.signalCode}) before sending '${type}'. stderr: ${this.stderr}`)
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  /** Kills the child if it still runs and waits until it is gone. */
  async reap(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL')
    await this.exited
  }
}

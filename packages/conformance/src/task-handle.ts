/** How a child process or worker thread ended. */
export interface TaskExit {
  /** Exit code (null when killed by a signal). */
  readonly code: number | null
  /** The signal that killed a child process (null otherwise; always null for a worker thread). */
  readonly signal: NodeJS.Signals | null
}

/**
 * A running child task (in a child process or a worker thread), seen from the case that started it.
 * Every handle is registered in its case's {@link TaskRegistry}, so it is reaped whatever happens.
 */
export interface TaskHandle<T = unknown> {
  /** The child's process id, or the worker's thread id. */
  readonly pid: number
  /** Sends a message the task reads with `channel.receive()`. */
  send(value: unknown): void
  /** Resolves with the next message the task sent, in order; rejects when it ended without one. */
  receive(): Promise<unknown>
  /** Every message the task has sent so far (including ones not yet taken by `receive`). */
  readonly received: readonly unknown[]
  /** What the task returned; rejects with its error, or when it died without a result. */
  readonly result: Promise<T>
  /** Settles when the process or thread has ended (never rejects). */
  readonly exited: Promise<TaskExit>
  /** Kills the task (`SIGKILL` for a process, `terminate()` for a thread) and waits until it has ended. */
  kill(signal?: NodeJS.Signals): Promise<TaskExit>
}

/**
 * The live children of one case. The runner reaps them all when the case ends, passes, fails or
 * times out, so no child outlives its case.
 */
export class TaskRegistry {
  readonly #live = new Set<TaskHandle>()

  /** Tracks `handle` until it exits. */
  add<T>(handle: TaskHandle<T>): TaskHandle<T> {
    this.#live.add(handle)
    void handle.exited.then(() => this.#live.delete(handle))
    return handle
  }

  /** How many children are still running. */
  get size(): number {
    return this.#live.size
  }

  /** Kills every live child and waits until each has ended. */
  async reapAll(): Promise<void> {
    await Promise.all([...this.#live].map((handle) => handle.kill('SIGKILL')))
  }
}

/**
 * Where a worker's idle slots wait for work. A wake-up releases ONE waiting slot (a claim costs a
 * write; N slots racing for one new task would cost N); a slot that then claims a task releases the
 * next (more may be ready), so a batch of new tasks fans out one claim at a time. A wake-up that
 * finds no slot waiting is kept, so one arriving between a slot's empty claim and its wait is not
 * lost.
 */
export class IdleGate {
  readonly #waiters: Array<() => void> = []
  #pending = false
  #open = false

  /** How many slots are waiting now. */
  get waiting(): number {
    return this.#waiters.length
  }

  /** Resolves on a wake-up, after `timeoutMs`, or once the gate is opened for good. */
  wait(timeoutMs: number): Promise<void> {
    if (this.#open) return Promise.resolve()
    if (this.#pending) {
      this.#pending = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        const at = this.#waiters.indexOf(done)
        if (at >= 0) this.#waiters.splice(at, 1)
        resolve()
      }
      const timer = setTimeout(done, Math.max(0, timeoutMs))
      this.#waiters.push(done)
    })
  }

  /** Releases one waiting slot (the one waiting longest), or keeps the wake-up for the next. */
  wake(): void {
    const first = this.#waiters[0]
    if (first) first()
    else this.#pending = true
  }

  /** Releases every slot now and later (the worker is stopping). */
  openForGood(): void {
    this.#open = true
    for (const waiter of [...this.#waiters]) waiter()
  }
}

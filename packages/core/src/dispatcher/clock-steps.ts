import { clockGuardsEnabled } from '../board/clock-guard.js'

/**
 * A forward jump of the wall clock by more than this beyond the time that passed (by the monotonic
 * clock) between two readings is taken for a step: NTP stepping the clock, someone setting it, a
 * resume from suspend. Smaller jumps are taken as time that passed.
 */
export const CLOCK_STEP_MS = 60_000

/**
 * The forward steps of the dispatcher's wall clock, so that how long its own workers have run
 * (`maxRuntimeMs`) is not judged by them. On a SQLite path the dispatcher judges its workers' runs
 * by its own clock; a host clock stepped an hour forward would make every worker it started look an
 * hour older and be terminated as overrunning at the next tick. Each reading compares the wall
 * clock's advance since the last reading with the monotonic clock's; an advance more than
 * {@link CLOCK_STEP_MS} beyond it is counted as a step. A clock stepped back is left as it is (its
 * workers look younger and run longer by the step). With `KANBAN_DB_CLOCK_GUARDS=off` no step is
 * ever counted (the tests' control).
 */
export class ClockSteps {
  readonly #wall: () => number
  readonly #monotonic: () => number
  #last: { wall: number; monotonic: number } | undefined
  #totalMs = 0

  constructor(wall: () => number, monotonic: () => number = () => performance.now()) {
    this.#wall = wall
    this.#monotonic = monotonic
  }

  /** Reads both clocks; returns the sum of the forward steps seen so far (ms). */
  total(): number {
    if (!clockGuardsEnabled()) return 0
    const wall = this.#wall()
    const monotonic = this.#monotonic()
    if (this.#last !== undefined) {
      const jump = wall - this.#last.wall - (monotonic - this.#last.monotonic)
      if (jump > CLOCK_STEP_MS) this.#totalMs += jump
    }
    this.#last = { wall, monotonic }
    return this.#totalMs
  }
}

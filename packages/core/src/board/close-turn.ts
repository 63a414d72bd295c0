/**
 * The turn of the event loop that `close()` gives before it resolves. A synchronous driver
 * (better-sqlite3) frees the native side of its statements in finalizers queued for the event loop;
 * a loop that only awaits (open, close, open, ...) never gives them one, so every cycle's statements
 * stayed in memory and the process grew without bound.
 */
export function turnOfTheEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * `KANBAN_DB_CLOSE_TURN=off` makes `close()` resolve without that turn: the control of the tests
 * that show the growth it prevents (the conformance case `memory.open-close-cycles`).
 */
export const CLOSE_TURN_ENV = 'KANBAN_DB_CLOSE_TURN'

/** Does `close()` give the event loop a turn in this process? */
export function closeTurnEnabled(): boolean {
  return process.env[CLOSE_TURN_ENV] !== 'off'
}

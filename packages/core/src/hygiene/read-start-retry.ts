import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { primaryCode, sqliteCodeOf } from '../errors/sqlite-codes.js'

/**
 * Called with the error `step` just threw, `step` being a statement (or `BEGIN IMMEDIATE`) run
 * outside any transaction on `connection`: when that error is `SQLITE_PROTOCOL`, runs `step` again,
 * up to {@link readStartRetries} times, and returns what it returns; otherwise (or once the tries
 * are spent) throws the latest error. Called only after a failure, so a statement that succeeds
 * pays nothing for it.
 *
 * In WAL mode a connection starting a read transaction retries SQLite's WAL-index handshake by
 * itself (about 100 times over several seconds) before it gives up with SQLITE_PROTOCOL; with more
 * processes than cores, a process can be descheduled through every one of those tries while others
 * commit. Nothing was read or written when it gives up (the statement never got a snapshot), so
 * trying again is safe and, once the others have moved on, succeeds. Inside a transaction the
 * snapshot is already taken and the error means something else: it is never retried there. A
 * filesystem whose locks do not work also answers SQLITE_PROTOCOL, every time; the open policy's
 * probe refuses those at open, and here the last try's error reaches the caller.
 */
export function retryReadStart<T>(connection: SqliteConnection, failure: unknown, step: () => T): T {
  let error = failure
  for (let retry = 0; ; retry++) {
    if (retry >= readStartRetries || connection.inTransaction || !couldNotStartRead(error)) throw error
    Atomics.wait(sleeper, 0, 0, 2 ** retry)
    try {
      return step()
    } catch (again) {
      error = again
    }
  }
}

/** How many times {@link retryReadStart} tries again (after 1, 2 and 4 ms). */
export const readStartRetries = 3

function couldNotStartRead(error: unknown): boolean {
  const code = sqliteCodeOf(error)
  return code !== undefined && primaryCode(code) === 'SQLITE_PROTOCOL'
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))

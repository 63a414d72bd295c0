import type { SqliteConnection } from '../adapter/sqlite-connection.js'
import { primaryCode, sqliteCodeOf } from '../errors/sqlite-codes.js'

/**
 * Runs `step`, a statement (or `BEGIN IMMEDIATE`) outside any transaction on `connection`, and
 * tries it again, up to {@link readStartRetries} more times, when it failed with `SQLITE_PROTOCOL`.
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
export function retryReadStart<T>(connection: SqliteConnection, step: () => T): T {
  for (let retry = 0; ; retry++) {
    try {
      return step()
    } catch (error) {
      if (retry >= readStartRetries || connection.inTransaction || !couldNotStartRead(error)) throw error
      Atomics.wait(sleeper, 0, 0, 2 ** retry)
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

/** Primary SQLite result codes by number (https://sqlite.org/rescode.html). */
const PRIMARY: Readonly<Record<number, string>> = {
  1: 'SQLITE_ERROR', 2: 'SQLITE_INTERNAL', 3: 'SQLITE_PERM', 4: 'SQLITE_ABORT', 5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED', 7: 'SQLITE_NOMEM', 8: 'SQLITE_READONLY', 9: 'SQLITE_INTERRUPT',
  10: 'SQLITE_IOERR', 11: 'SQLITE_CORRUPT', 12: 'SQLITE_NOTFOUND', 13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN', 15: 'SQLITE_PROTOCOL', 16: 'SQLITE_EMPTY', 17: 'SQLITE_SCHEMA',
  18: 'SQLITE_TOOBIG', 19: 'SQLITE_CONSTRAINT', 20: 'SQLITE_MISMATCH', 21: 'SQLITE_MISUSE',
  22: 'SQLITE_NOLFS', 23: 'SQLITE_AUTH', 24: 'SQLITE_FORMAT', 25: 'SQLITE_RANGE', 26: 'SQLITE_NOTADB',
}

/** Extended result codes that matter to the hygiene policy, by number. */
const EXTENDED: Readonly<Record<number, string>> = {
  261: 'SQLITE_BUSY_RECOVERY', 517: 'SQLITE_BUSY_SNAPSHOT', 773: 'SQLITE_BUSY_TIMEOUT',
  266: 'SQLITE_IOERR_READ', 522: 'SQLITE_IOERR_SHORT_READ', 778: 'SQLITE_IOERR_WRITE',
  1034: 'SQLITE_IOERR_FSYNC', 1290: 'SQLITE_IOERR_DIR_FSYNC', 1546: 'SQLITE_IOERR_TRUNCATE',
  1802: 'SQLITE_IOERR_FSTAT', 2058: 'SQLITE_IOERR_UNLOCK', 2314: 'SQLITE_IOERR_RDLOCK',
  2570: 'SQLITE_IOERR_DELETE', 3338: 'SQLITE_IOERR_ACCESS', 3594: 'SQLITE_IOERR_CHECKRESERVEDLOCK',
  3850: 'SQLITE_IOERR_LOCK', 4106: 'SQLITE_IOERR_CLOSE', 4618: 'SQLITE_IOERR_SHMOPEN',
  4874: 'SQLITE_IOERR_SHMSIZE', 5130: 'SQLITE_IOERR_SHMLOCK', 5386: 'SQLITE_IOERR_SHMMAP',
  5642: 'SQLITE_IOERR_SEEK', 6154: 'SQLITE_IOERR_MMAP', 7178: 'SQLITE_IOERR_DATA',
  7434: 'SQLITE_IOERR_CORRUPTFS', 267: 'SQLITE_CORRUPT_VTAB', 779: 'SQLITE_CORRUPT_INDEX',
  264: 'SQLITE_READONLY_RECOVERY', 520: 'SQLITE_READONLY_CANTLOCK', 776: 'SQLITE_READONLY_ROLLBACK',
  1032: 'SQLITE_READONLY_DBMOVED', 1288: 'SQLITE_READONLY_CANTINIT', 1544: 'SQLITE_READONLY_DIRECTORY',
  270: 'SQLITE_CANTOPEN_NOTEMPDIR', 1038: 'SQLITE_CANTOPEN_CONVPATH', 275: 'SQLITE_CONSTRAINT_CHECK',
  531: 'SQLITE_CONSTRAINT_COMMITHOOK', 787: 'SQLITE_CONSTRAINT_FOREIGNKEY', 1299: 'SQLITE_CONSTRAINT_NOTNULL',
  1555: 'SQLITE_CONSTRAINT_PRIMARYKEY', 2067: 'SQLITE_CONSTRAINT_UNIQUE', 2579: 'SQLITE_CONSTRAINT_ROWID',
}

/** Messages SQLite uses for its primary codes, for drivers that report only a message. */
const BY_MESSAGE: ReadonlyArray<readonly [RegExp, string]> = [
  [/database is locked/i, 'SQLITE_BUSY'],
  [/database table is locked/i, 'SQLITE_LOCKED'],
  [/disk I\/O error/i, 'SQLITE_IOERR'],
  [/database disk image is malformed/i, 'SQLITE_CORRUPT'],
  [/file is not a database|file is encrypted or is not a database/i, 'SQLITE_NOTADB'],
  [/database or disk is full/i, 'SQLITE_FULL'],
  [/unable to open database file/i, 'SQLITE_CANTOPEN'],
  [/locking protocol/i, 'SQLITE_PROTOCOL'],
  [/not authorized/i, 'SQLITE_AUTH'],
  [/attempt to write a readonly database/i, 'SQLITE_READONLY'],
  [/constraint failed/i, 'SQLITE_CONSTRAINT'],
  [/interrupted/i, 'SQLITE_INTERRUPT'],
]

/** What an adapter's `decodeError` reads out of an error its driver threw. */
export interface DecodedSqliteError {
  /** SQLite's result code name, extended when known: `SQLITE_BUSY`, `SQLITE_IOERR_SHORT_READ`. */
  readonly code: string
}

/** Reads SQLite's code out of one driver's errors; undefined for errors that are not its driver's. */
export type SqliteErrorDecoder = (error: unknown) => DecodedSqliteError | undefined

// Process-wide, on globalThis, so a second copy of core (ESM beside CJS) asks the same decoders.
const DECODERS = Symbol.for('kanban-db.sqlite-error-decoders')
const decoders: Map<string, SqliteErrorDecoder> = ((globalThis as Record<symbol, unknown>)[DECODERS] ??= new Map()) as Map<string, SqliteErrorDecoder>

/**
 * Registers an adapter's `decodeError` under its name (once per name), so `sqliteCodeOf` and
 * `classifySqliteError` read that driver's error shape. Core calls it when it opens or loads an
 * adapter; an adapter never needs to.
 */
export function registerErrorDecoder(name: string, decode: SqliteErrorDecoder | undefined): void {
  if (typeof decode === 'function' && !decoders.has(name)) decoders.set(name, decode)
}

/** SQLite's name for a primary or extended result code number (`5` -> `SQLITE_BUSY`, `522` -> `SQLITE_IOERR_SHORT_READ`). */
export function sqliteCodeName(resultCode: number): string {
  return EXTENDED[resultCode] ?? PRIMARY[resultCode & 0xff] ?? `SQLITE_${resultCode}`
}

/** The primary code SQLite's own message for it names (`database is locked` -> `SQLITE_BUSY`), for drivers that keep only the message. */
export function sqliteCodeFromMessage(message: string): string | undefined {
  for (const [pattern, name] of BY_MESSAGE) if (pattern.test(message)) return name
  return undefined
}

/**
 * SQLite's result code name for a driver error. First every registered adapter's `decodeError`
 * (each reads its own driver's error shape), then, for errors none of them claims (an adapter
 * without a decoder, an error built in SQLite's shape), the generic reading of SQLite's conventions:
 * a name in `code` (`SQLITE_BUSY`), a primary or extended number in `errcode`, or SQLite's standard
 * message (primary codes only). Returns undefined for errors that did not come from SQLite.
 */
export function sqliteCodeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  for (const decode of decoders.values()) {
    let decoded: DecodedSqliteError | undefined
    try {
      decoded = decode(error)
    } catch {
      continue // a decoder that fails on a foreign error must not hide it
    }
    if (decoded !== undefined && typeof decoded.code === 'string') return decoded.code
  }
  const { code, errcode, message } = error as { code?: unknown; errcode?: unknown; message?: unknown }
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return code
  if (typeof errcode === 'number') return sqliteCodeName(errcode)
  if (typeof message === 'string') return sqliteCodeFromMessage(message)
  return undefined
}

/** The primary code of a code name: `SQLITE_IOERR_SHORT_READ` -> `SQLITE_IOERR`. */
export function primaryCode(name: string): string {
  for (const primary of Object.values(PRIMARY)) {
    if (name === primary || name.startsWith(`${primary}_`)) return primary
  }
  return name
}

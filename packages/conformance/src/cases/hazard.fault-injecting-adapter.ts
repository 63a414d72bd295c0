import type { SqliteAdapter, SqliteConnection, SqliteStatement } from '@kanban-db/core/adapter'

/** Which statements fail, and with what, in {@link faultInjectingAdapter}. */
export interface InjectedFault {
  /** Only connections to this path are affected. */
  readonly path: string
  /** Only the first N connections to `path` opened through the wrapper (default: all). */
  readonly connections?: number
  /** True for the SQL text that fails. */
  matches(sql: string): boolean
  /** A fresh error shaped as the driver would throw it. */
  error(): Error
}

/** A SQLite-shaped error as better-sqlite3 and node:sqlite report it (`code` and `errcode`). */
export function sqliteError(message: string, code: string, errcode: number): Error {
  return Object.assign(new Error(message), { code, errcode, errstr: message })
}

/**
 * Wraps `inner` at the driver boundary: connections it opens throw `fault.error()` from `prepare`
 * and `exec` for SQL that `fault.matches`, and behave normally otherwise. The database itself is
 * real and untouched; only the driver's answer is replaced, as a failing disk or filesystem would.
 */
export function faultInjectingAdapter(inner: SqliteAdapter, fault: InjectedFault): SqliteAdapter & { readonly injected: number } {
  let opened = 0
  let injected = 0
  const guard = (sql: string) => {
    if (fault.matches(sql)) {
      injected += 1
      throw fault.error()
    }
  }
  const wrap = (connection: SqliteConnection): SqliteConnection => ({
    get path() {
      return connection.path
    },
    get isOpen() {
      return connection.isOpen
    },
    get inTransaction() {
      return connection.inTransaction
    },
    prepare(sql: string): SqliteStatement {
      guard(sql)
      return connection.prepare(sql)
    },
    exec(sql: string) {
      guard(sql)
      connection.exec(sql)
    },
    backup: (destination) => connection.backup(destination),
    close: () => connection.close(),
  })
  return {
    identity: inner.identity,
    capabilities: inner.capabilities,
    get injected() {
      return injected
    },
    async open(path, options) {
      const connection = await inner.open(path, options)
      if (path !== fault.path) return connection
      opened += 1
      return opened <= (fault.connections ?? Infinity) ? wrap(connection) : connection
    },
    probeJournalMode: (connection) => inner.probeJournalMode(connection),
    setPragma: (connection, name, value) => inner.setPragma(connection, name, value),
    acquireLock: (lockPath, options) => inner.acquireLock(lockPath, options),
  }
}

/** True for `PRAGMA journal_mode` probes and `journal_mode = WAL`, not for a switch to DELETE. */
export function isWalProbeOrSwitch(sql: string): boolean {
  return /journal_mode/i.test(sql) && !/delete/i.test(sql)
}

/**
 * The "protection switched off" of the journal-mode hazards: an open that treats any failure of
 * the WAL step as "this filesystem cannot do WAL" and switches to DELETE, as naive wrappers do.
 * Returns the mode it meant to end with; read the file's real mode with a fresh connection.
 */
export function naiveJournalModeStep(adapter: SqliteAdapter, connection: SqliteConnection): string {
  try {
    const mode = adapter.probeJournalMode(connection)
    return mode === 'wal' ? mode : adapter.setPragma(connection, 'journal_mode', 'WAL').toLowerCase()
  } catch {
    connection.exec('PRAGMA journal_mode = DELETE')
    return 'delete'
  }
}

/**
 * `@kanban-db/core/adapter`: the implementor API, for authors of SQLite driver adapters and of board
 * engines. Applications use the package root (`openBoard`, the board and task types, the errors).
 *
 * - A SQLite driver adapter implements {@link SqliteAdapter} (opening {@link SqliteConnection}s),
 *   declares its {@link Capabilities}, and is checked by `@kanban-db/conformance`. The helpers here
 *   are the ones the bundled adapters use: cross-process locks (`acquireLockWith`,
 *   `acquireInProcessLock`), the board's file mode for files it creates, the board's real path,
 *   `sqlPragmaHooks` for drivers without pragma helpers, and SQLite error classification.
 * - A board engine (as `@kanban-db/adapter-postgres` is) implements {@link BoardEngine} and is
 *   returned by a {@link BoardEngineFactory}; `openBoard({ engine })` puts the board on it.
 *
 * The error classes are exported by the package root; they are the same classes here and there.
 * @packageDocumentation
 */

// SQLite driver adapters: the contract.
export type { Capabilities, Capability } from './adapter/capabilities.js'
export { CAPABILITIES, missingCapabilities } from './adapter/capabilities.js'
export { assertSupportedNode, SUPPORTED_NODE, type NodeRequirement } from './adapter/node-version.js'
export type { RunResult, SqliteConnection, SqliteRow, SqliteStatement, SqliteValue } from './adapter/sqlite-connection.js'
export type { AcquireLockOptions, AdapterFactory, AdapterIdentity, OpenOptions, ProcessLock, SqliteAdapter } from './adapter/sqlite-adapter.js'

// SQLite driver adapters: helpers.
export { readFirstValue, sqlPragmaHooks } from './adapter/sql-pragma-hooks.js'
export { acquireInProcessLock, acquireLockWith, applyFileMode, fileModeOf, realBoardPath } from './hygiene/process-lock.js'
export { classifySqliteError } from './errors/classify.js'
export { primaryCode, sqliteCodeFromMessage, sqliteCodeName, sqliteCodeOf, type DecodedSqliteError, type SqliteErrorDecoder } from './errors/sqlite-codes.js'

// Board engines.
export type { BoardEngine, BoardEngineFactory, EngineCapabilities, EngineKind, EngineOpenOptions, NamedLock } from './engine/board-engine.js'
export { TransactionGuard } from './engine/transaction-guard.js'
export { WakeListeners } from './engine/wake-listeners.js'
export type { BoardSchema } from './schema/board-schema.js'
export { LATEST_SCHEMA_VERSION } from './schema/migrations.js'
export { resolveWriteOptions, type WriteOptions, type WriteTxnOptions } from './write/write-transaction.js'
export { ConnectionDialect } from './kysely/connection-dialect.js'

// Compiled by errors-union.test.ts: an exhaustive switch over every error code compiles, and each
// branch sees its class's typed details.
import { KanbanDbError, type AnyKanbanDbError } from '../../src/errors/errors.js'

export function advice(error: AnyKanbanDbError): string {
  switch (error.code) {
    case 'BOARD_NOT_FOUND': return `create ${error.details.path ?? error.details.location ?? 'it'} first`
    case 'TASK_NOT_FOUND': return `no task ${error.details.taskId ?? '?'}`
    case 'INVALID_TRANSITION': return `refused ${error.details.action ?? '?'} from ${error.details.from ?? 'new'}`
    case 'CLAIM_MISMATCH': return error.details.stale === true ? 'an earlier run' : 'another worker'
    case 'DEPENDENCY_CYCLE': return `cycle through ${error.details.dependsOnId ?? '?'}`
    case 'INVALID_INPUT': return `fix ${error.details.field ?? 'the input'}`
    case 'BUSY': return `retried ${error.details.attempts ?? 0} times`
    case 'TRANSIENT_IO': return 'retry'
    case 'DISK_FULL': return 'free space'
    case 'CORRUPT': return `restore; copy at ${error.details.copyPath ?? 'none'}`
    case 'NOT_A_DATABASE': return 'check the path'
    case 'UNSUPPORTED_FILESYSTEM': return `move off ${error.details.filesystem ?? 'this filesystem'}`
    case 'LOCK_TIMEOUT': return `waited ${error.details.timeoutMs ?? 0} ms`
    case 'MIXED_SQLITE_COPIES': return `held by ${error.details.heldBy ?? '?'}`
    case 'GHOST_FILE': return 'reopen'
    case 'LOCKS_LOST': return `missing ${(error.details.missing ?? []).join(', ')}`
    case 'PRAGMA_MISMATCH': return `pragma ${error.details.pragma ?? '?'}`
    case 'TRANSACTION_TIMEOUT': return 'shorter transactions'
    case 'BOARD_CLOSED': return 'open again'
    case 'READ_ONLY_BOARD': return 'open writable'
    case 'NOT_SUPPORTED': return `${error.details.adapter ?? 'this adapter'} cannot`
    case 'BOARD_IN_USE': return 'close the first board'
    case 'SQLITE_FAILURE': return error.sqliteCode ?? 'unknown'
    case 'CONNECTION_LOST': return error.details.commitSent === true ? 'check the claim token' : 'retry'
    case 'STATEMENT_TIMEOUT': return 'retry'
    case 'POSTGRES_FAILURE': return error.sqlState ?? 'unknown'
    case 'SCHEMA_MISMATCH': return `version ${error.details.version ?? '?'}`
    case 'STALE_SIDECAR': return 'remove the stale -wal'
    case 'IMPORT_FAILED': return `import refused: ${error.details.reason ?? '?'}`
    case 'FOREIGN_DATABASE': return `tables ${(error.details.tables ?? []).join(', ')}`
    case 'BOARD_OPEN_ELSEWHERE': return 'close it elsewhere'
    case 'RATE_LIMITED': return `wait ${error.retryAfterMs ?? 0} ms`
    case 'WORK_ABORTED': return `aborted: ${error.kind}`
    case 'UNSUPPORTED_RUNTIME': return `needs Node ${error.details.needs}`
    default: {
      const unreachable: never = error
      return unreachable
    }
  }
}

export function fromAnything(error: unknown): string {
  return KanbanDbError.isKanbanDbError(error) ? advice(error) : 'not ours'
}

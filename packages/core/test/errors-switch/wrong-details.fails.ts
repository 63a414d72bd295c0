// Compiled by errors-union.test.ts: a branch cannot read another code's facts with their types.
import type { AnyKanbanDbError } from '../../src/errors/errors.js'

export function attempts(error: AnyKanbanDbError): number {
  if (error.code === 'BUSY') return error.details.attempts ?? 0
  if (error.code === 'INVALID_INPUT') return error.details.field ?? 0
  return 0
}

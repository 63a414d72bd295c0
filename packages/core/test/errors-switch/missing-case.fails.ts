// Compiled by errors-union.test.ts: a switch that forgets a code does not compile.
import type { AnyKanbanDbError } from '../../src/errors/errors.js'

export function advice(error: AnyKanbanDbError): string {
  switch (error.code) {
    case 'BUSY': return 'retry'
    default: {
      const unreachable: never = error
      return unreachable
    }
  }
}

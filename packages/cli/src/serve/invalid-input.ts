import { InvalidInput } from '@kanban-db/core'

/** An `InvalidInput` naming the field and what is wrong with it; nothing was changed. */
export function invalid(field: string, problem: string, cause?: unknown): InvalidInput {
  return new InvalidInput(`Invalid ${field}: ${problem}. Nothing was changed.`, { details: { field }, ...(cause === undefined ? {} : { cause }) })
}

import type { WriteOptions } from '../write/write-transaction.js'
import { DEFAULT_MAX_RETRIES, DEFAULT_MAX_REVIEW_REJECTIONS, type BoardRules } from './failure-accounting.js'
import { InvalidInput } from '../errors/errors.js'
import { invalid, optionalBoolean, optionalInteger } from './validate.js'

/** What `openBoard` takes on every engine. */
export interface CommonBoardOptions {
  /**
   * Open without writing: the board must exist and be initialised (`BoardNotFound` /
   * `SchemaMismatch` otherwise), and every write fails with `ReadOnlyBoard`. Default false.
   */
  readonly readonly?: boolean
  /** The write path's retry budget and transaction timeout (see `WriteOptions`; engines say what they honour). */
  readonly write?: WriteOptions
  /**
   * Milliseconds since the epoch for every time the board writes (inject one in tests): a function
   * returning a whole number >= 0. It is called once at open to check it (`InvalidInput` otherwise),
   * and a later reading that is not one fails the call with `InvalidInput`, writing nothing. Default:
   * the engine's clock: `Date.now` on SQLite, the server's clock on Postgres.
   */
  readonly clock?: () => number
  /** Retries after consecutive failures for tasks that set no `maxRetries` (0-1000). Default 2. */
  readonly maxRetries?: number
  /** Review rejections in a row that send a task to triage (1-1000). Default 3. */
  readonly maxReviewRejections?: number
  /**
   * The board rule "require review before done": `complete` and `completeAndClaimNext` are refused
   * with `InvalidTransition`; a worker finishes with `requestReview` and only `approve` makes a task
   * done. Default false.
   */
  readonly requireReview?: boolean
}

/** The common options, checked, with their defaults. */
export interface ResolvedBoardOptions {
  readonly readonly: boolean
  /** undefined: the engine's clock. */
  readonly clock: (() => number) | undefined
  readonly rules: BoardRules
}

/** Checks the options every engine takes and applies their defaults. */
export function resolveBoardOptions(options: CommonBoardOptions): ResolvedBoardOptions {
  return {
    readonly: optionalBoolean('options.readonly', options.readonly),
    clock: options.clock === undefined ? undefined : checkedClock(options.clock),
    rules: {
      maxRetries: optionalInteger('options.maxRetries', options.maxRetries, DEFAULT_MAX_RETRIES, { min: 0, max: 1000 }),
      maxReviewRejections: optionalInteger('options.maxReviewRejections', options.maxReviewRejections, DEFAULT_MAX_REVIEW_REJECTIONS, { min: 1, max: 1000 }),
      requireReview: optionalBoolean('options.requireReview', options.requireReview),
    },
  }
}

/**
 * `clock`, called once now to check it, wrapped so every reading is checked: a time the board
 * stores must be a whole number of milliseconds >= 0 (a float, a negative number or a string would
 * be stored as it is, and ids made from it could not be looked up).
 */
export function checkedClock(clock: unknown): () => number {
  if (typeof clock !== 'function') throw invalid('options.clock', 'expected a function returning milliseconds since the epoch (for example Date.now)', clock)
  const read = (): number => {
    let value: unknown
    try {
      value = (clock as () => unknown)()
    } catch (error) {
      throw new InvalidInput(`Invalid options.clock: it threw (${error instanceof Error ? error.message : String(error)}). Nothing was written.`, {
        cause: error,
        details: { field: 'options.clock' },
      })
    }
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw invalid(
        'options.clock',
        `it returned ${describeReading(value)}, not a whole number of milliseconds since the epoch >= 0; pass a clock like Date.now or () => Math.floor(ms)`,
        value,
      )
    }
    return value
  }
  read()
  return read
}

function describeReading(value: unknown): string {
  if (value === undefined || value === null) return String(value)
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : `${typeof value} ${String(value)}`
}

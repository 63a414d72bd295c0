import { sql, type RawBuilder } from 'kysely'
import type { TaskStatus } from './transitions.js'

// Literals for the board's hot queries: values that, bound as parameters, make SQLite prepare the
// statement again on every execution (measured with better-sqlite3 13.2 / SQLite 3.54, STAT4 build).

/**
 * A task status written into the SQL text as a literal (`status = 'ready'`), not bound as a
 * parameter. For the board's fixed statuses only, never for caller input.
 *
 * Why: the SQLite that better-sqlite3 and node:sqlite ship is built with STAT4, and a statement
 * whose bound parameter is compared with an indexed column is prepared again on every execution
 * so that the planner can look at the value (about 50-70 µs per execution here, against 5-7 µs for
 * the same statement with the literal). The hot path (claim, complete, promotions) compares
 * `status` with a constant in almost every query.
 */
export function statusLiteral<S extends TaskStatus>(status: S): RawBuilder<S> {
  return sql.lit(status)
}

/**
 * `LIMIT 1` as a literal. A bound LIMIT is one of the values SQLite's planner looks at, so such a
 * statement is prepared again on every execution (about 25 µs against 4 µs here).
 */
export const ONE_ROW: RawBuilder<number> = sql.lit(1)

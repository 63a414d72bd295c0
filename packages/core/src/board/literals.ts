import { sql, type RawBuilder } from 'kysely'
import type { TaskStatus } from './transitions.js'

// Literals for the board's hot queries: values that, bound as parameters, make SQLite prepare the
// statement again on every execution (measured with better-sqlite3 / SQLite 3.54.1, a STAT4 build,
// and node:sqlite / SQLite 3.53.4 in Node 24.21, built without STAT4).

/**
 * A task status written into the SQL text as a literal (`status = 'ready'`), not bound as a
 * parameter. For the board's fixed statuses only, never for caller input.
 *
 * Why: the board's per-status indexes are partial (`WHERE status = 'ready'`, schema v3). SQLite
 * decides whether a partial index can serve a statement by comparing the statement's WHERE with the
 * index's, using the value bound at that moment for a parameter; a statement that compares `status`
 * with a bound parameter is then prepared again on every execution (about 45 µs per execution with
 * better-sqlite3 and 20 µs with node:sqlite, against 4 µs for the same statement with the literal).
 * A STAT4 build (better-sqlite3's, not node:sqlite's) also prepares again on every execution some
 * statements that compare a bound value with an indexed column, even without ANALYZE: measured for
 * a join and for an ORDER BY that needs a sort, about 20-30 µs against 3 µs with the literal. The
 * hot path (claim, complete, promotions) compares `status` with a constant in almost every query.
 */
export function statusLiteral<S extends TaskStatus>(status: S): RawBuilder<S> {
  return sql.lit(status)
}

/**
 * `LIMIT 1` as a literal. A bound LIMIT is one of the values SQLite's planner looks at, so such a
 * statement is prepared again on every execution (about 25 µs against 4 µs here).
 */
export const ONE_ROW: RawBuilder<number> = sql.lit(1)

import pg from 'pg'

/** Postgres type OIDs the board reads as JavaScript numbers. */
export const INT8_OID = 20
/** `numeric`: what `sum()` of a bigint column and some aggregates return. */
export const NUMERIC_OID = 1700

/**
 * Parses a bigint column as a number. Every bigint the board stores (millisecond times, sizes, event
 * ids, counts) is a safe integer, validated at the boundary, so nothing is lost; node-postgres's
 * default would hand back a string.
 */
export function parseInt8(value: string): number {
  return Number(value)
}

/** Parses a numeric result (an aggregate over bigints) as a number. */
export function parseNumeric(value: string): number {
  return Number(value)
}

/** The per-pool `types` of node-postgres's config. */
export type PgTypes = NonNullable<pg.PoolConfig['types']>

/**
 * Type parsers for one pool: bigint and numeric as numbers, everything else as `fallback` (the
 * caller's own `types`, or node-postgres's defaults). Scoped to the pool, so the process-wide
 * `pg.types` that other code in the process relies on is left alone.
 */
export function numberTypes(fallback: PgTypes = pg.types): PgTypes {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (format !== 'binary') {
        if (oid === INT8_OID) return parseInt8
        if (oid === NUMERIC_OID) return parseNumeric
      }
      return (fallback.getTypeParser as (oid: number, format?: 'text' | 'binary') => unknown)(oid, format)
    }) as PgTypes['getTypeParser'],
  }
}

/** The same parsers in PGlite's shape (its `parsers` option, per instance or per query). */
export const pgliteNumberParsers: Readonly<Record<number, (value: string) => unknown>> = Object.freeze({
  [INT8_OID]: parseInt8,
  [NUMERIC_OID]: parseNumeric,
})

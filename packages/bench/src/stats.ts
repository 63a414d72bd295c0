/** Minimum, median and maximum of a set of repetitions. */
export interface Spread {
  readonly min: number
  readonly median: number
  readonly max: number
}

/** The spread of `values` (NaN everywhere when empty). */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) return { min: NaN, median: NaN, max: NaN }
  const sorted = [...values].sort((a, b) => a - b)
  return { min: sorted[0]!, median: median(sorted), max: sorted[sorted.length - 1]! }
}

function median(sorted: readonly number[]): number {
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The `p`-th percentile (0..100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/** The largest value, NaN when empty (no spread of a huge array into Math.max). */
export function maximum(values: readonly number[]): number {
  let max = NaN
  for (const value of values) if (!(value <= max)) max = value
  return max
}

import { InvalidInput } from '@kanban-db/core'

function refuse(option: string, value: string, expected: string): InvalidInput {
  return new InvalidInput(`${option} ${JSON.stringify(value)} is not ${expected}. Nothing was done.`, { details: { option, value } })
}

/** A whole number from an option, within bounds; `InvalidInput` (exit 2) otherwise. */
export function integerOption(option: string, value: string | undefined, bounds: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined
  const min = bounds.min ?? Number.MIN_SAFE_INTEGER
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER
  if (!/^-?\d+$/.test(value.trim())) throw refuse(option, value, `a whole number from ${min} to ${max}`)
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number < min || number > max) throw refuse(option, value, `a whole number from ${min} to ${max}`)
  return number
}

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A duration (`500ms`, `30s`, `10m`, `2h`, `7d`; a bare number is milliseconds) in ms. */
export function durationOption(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim())
  if (!match) throw refuse(option, value, 'a duration such as 500ms, 30s, 10m, 2h or 7d')
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'ms']!)
}

/** Values of a repeatable option that may also be comma-separated (`--status ready,running --status blocked`). */
export function listOption(value: string | boolean | readonly string[] | undefined): string[] {
  if (value === undefined || typeof value === 'boolean') return []
  const values = typeof value === 'string' ? [value] : value
  return values.flatMap((item) => item.split(',')).map((item) => item.trim()).filter((item) => item !== '')
}

/** A string option's value (parseArgs gives strings for `type: 'string'`). */
export function stringOption(value: string | boolean | readonly string[] | undefined): string | undefined {
  if (typeof value === 'string') return value
  if (Array.isArray(value)) return value.at(-1)
  return undefined
}

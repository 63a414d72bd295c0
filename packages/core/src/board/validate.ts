import { InvalidInput } from '../errors/errors.js'
import { TASK_STATUSES, type TaskStatus } from './transitions.js'
import type { JsonObject, JsonValue } from './types.js'

/**
 * Boundary checks. Each throws `InvalidInput` naming the field, before anything is written, so bad
 * input never changes the board.
 */

export function invalid(field: string, problem: string, value?: unknown): InvalidInput {
  return new InvalidInput(`Invalid ${field}: ${problem}. Nothing was written.`, { details: { field, value } })
}

export function requireString(field: string, value: unknown, options: { min?: number; max: number }): string {
  if (typeof value !== 'string') throw invalid(field, `expected a string, got ${describe(value)}`, value)
  requireStorableText(field, value)
  const min = options.min ?? 1
  if (value.length < min) throw invalid(field, min === 1 ? 'must not be empty' : `must have at least ${min} characters`, value)
  if (value.length > options.max) throw invalid(field, `must have at most ${options.max} characters (got ${value.length})`)
  return value
}

/** A UTF-16 code unit of a surrogate pair standing alone (with the `u` flag a whole pair is one code point). */
const LONE_SURROGATE = /\p{Cs}/u

/**
 * Text every engine stores exactly: no lone surrogate (half of a UTF-16 pair: UTF-8 cannot encode
 * it, and drivers would store U+FFFD in its place) and no NUL (PostgreSQL text cannot hold it).
 */
function requireStorableText(field: string, value: string): void {
  const lone = LONE_SURROGATE.exec(value)
  if (lone !== null) {
    const at = [...value.slice(0, lone.index)].length
    throw invalid(
      field,
      `contains a lone surrogate (half of a UTF-16 pair, at code point ${at}), which no engine can store as text; ` +
        'fix the string (String.prototype.toWellFormed() replaces it with U+FFFD), or keep such data in meta, whose JSON stores it exactly',
    )
  }
  if (value.includes('\u0000')) {
    throw invalid(field, `contains a NUL character (\\u0000, at index ${value.indexOf('\u0000')}), which PostgreSQL text cannot hold; remove it, or keep such data in meta, whose JSON stores it exactly`)
  }
}

export function optionalString(field: string, value: unknown, options: { min?: number; max: number }): string | null {
  if (value === undefined || value === null) return null
  return requireString(field, value, options)
}

export function requireInteger(field: string, value: unknown, options: { min: number; max: number }): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(field, `expected an integer, got ${describe(value)}`, value)
  if (value < options.min || value > options.max) throw invalid(field, `must be between ${options.min} and ${options.max} (got ${value})`, value)
  return value
}

export function optionalInteger(field: string, value: unknown, fallback: number, options: { min: number; max: number }): number {
  return value === undefined ? fallback : requireInteger(field, value, options)
}

export function optionalBoolean(field: string, value: unknown, fallback = false): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw invalid(field, `expected a boolean, got ${describe(value)}`, value)
  return value
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/

export function requireId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw invalid(field, `expected a task id (1-64 characters of A-Za-z0-9_.:-), got ${describe(value)}`, value)
  }
  return value
}

export function requireStatus(field: string, value: unknown): TaskStatus {
  if (typeof value !== 'string' || !(TASK_STATUSES as readonly string[]).includes(value)) {
    throw invalid(field, `expected one of ${TASK_STATUSES.join(', ')}, got ${describe(value)}`, value)
  }
  return value as TaskStatus
}

export function requireObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, `expected an object, got ${describe(value)}`, value)
  return value as Record<string, unknown>
}

/**
 * Serialises `value` after checking it is plain JSON: null, booleans, finite numbers, strings,
 * arrays and plain objects, nothing else (no undefined, functions, bigints, Dates, Maps, cycles),
 * so what is read back is exactly what was written.
 */
export function toJson(field: string, value: unknown, maxBytes: number): string {
  checkJson(field, value, new Set(), 0)
  const text = JSON.stringify(value)
  if (Buffer.byteLength(text) > maxBytes) throw invalid(field, `is ${Buffer.byteLength(text)} bytes as JSON, more than ${maxBytes}`)
  return text
}

/** {@link toJson} for a JSON object. */
export function objectToJson(field: string, value: unknown, maxBytes: number): string {
  requireObject(field, value)
  return toJson(field, value, maxBytes)
}

/** How deep arrays and objects may nest in a JSON value the board stores (meta, results, metadata). */
export const MAX_JSON_DEPTH = 100

function checkJson(path: string, value: unknown, seen: Set<object>, depth: number): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(path, `${value} is not JSON-serialisable`)
    return
  }
  if (typeof value !== 'object') throw invalid(path, `${describe(value)} is not JSON-serialisable`)
  if (seen.has(value)) throw invalid(path, 'contains a cycle')
  if (depth >= MAX_JSON_DEPTH) throw invalid(path, `nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the most the board stores; flatten it`)
  seen.add(value)
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJson(`${path}[${index}]`, item, seen, depth + 1))
  } else {
    const prototype = Object.getPrototypeOf(value) as unknown
    if (prototype !== Object.prototype && prototype !== null) {
      throw invalid(path, `a ${describe(value)} is not plain JSON (use plain objects, arrays, strings, numbers, booleans, null)`)
    }
    for (const [key, item] of Object.entries(value)) checkJson(`${path}.${key}`, item, seen, depth + 1)
  }
  seen.delete(value)
}

export function parseJson<T extends JsonValue>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T)
}

export function parseJsonObject(text: string): JsonObject {
  return JSON.parse(text) as JsonObject
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`
  return `${typeof value} ${String(value)}`
}

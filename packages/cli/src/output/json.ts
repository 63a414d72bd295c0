import type { Writable } from 'node:stream'

/** Writes `value` as one JSON document (pretty, two-space indent) followed by a newline. */
export function writeJson(stream: Pick<Writable, 'write'>, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Writes `value` as one line of JSON lines (https://jsonlines.org), for streams of records. */
export function writeJsonLine(stream: Pick<Writable, 'write'>, value: unknown): void {
  stream.write(`${JSON.stringify(value)}\n`)
}

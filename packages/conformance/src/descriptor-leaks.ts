import { closeSync, readdirSync, readlinkSync } from 'node:fs'
import { relative, sep } from 'node:path'

/**
 * The environment variable that turns the suite's descriptor guard off (`off`): no leak check after
 * each case, and no report after an uncaught error in the CLI. The guard's tests use it as their
 * control, to show the damage a leaking adapter does without it.
 */
export const DESCRIPTOR_GUARD_ENV = 'KANBAN_CONFORMANCE_DESCRIPTOR_GUARD'

/** False when {@link DESCRIPTOR_GUARD_ENV} is `off`. */
export function descriptorGuardOn(): boolean {
  return process.env[DESCRIPTOR_GUARD_ENV] !== 'off'
}

/** One descriptor of this process and the file it points to (from `/proc/self/fd`). */
export interface OpenDescriptor {
  readonly fd: number
  readonly target: string
}

/** The highest descriptor number probed when `/proc/self/fd` cannot be listed (the process is out of descriptors). */
const PROBE_LIMIT = 65_536

/**
 * The descriptors of this process that point into `dir` (the case's own scratch directory), read
 * with `readlink` on `/proc/self/fd`: no file is opened, so neither a board's file nor its locks are
 * touched. When the listing itself fails (EMFILE: listing a directory takes a descriptor), every
 * number up to {@link PROBE_LIMIT} is read by `readlink` alone. Empty where `/proc` is absent.
 */
export function descriptorsUnder(dir: string): OpenDescriptor[] {
  const prefix = dir.endsWith(sep) ? dir : `${dir}${sep}`
  const found: OpenDescriptor[] = []
  for (const fd of descriptorNumbers()) {
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`)
    } catch {
      continue // closed meanwhile, or never open
    }
    if (target === dir || target.startsWith(prefix)) found.push({ fd, target })
  }
  return found
}

function descriptorNumbers(): Iterable<number> {
  try {
    return readdirSync('/proc/self/fd').map(Number).filter(Number.isInteger)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [] // no /proc: nothing to measure
    return Array.from({ length: PROBE_LIMIT }, (_, fd) => fd)
  }
}

/**
 * Why a case fails when descriptors were left on its files after every board it opened was closed
 * and every child reaped: how many, and on which files (relative to the case's directory), with
 * how many descriptors each.
 */
export function describeLeak(dir: string, leaks: readonly OpenDescriptor[]): string {
  const perFile = new Map<string, number>()
  for (const { target } of leaks) {
    const name = relative(dir, target) || '.'
    perFile.set(name, (perFile.get(name) ?? 0) + 1)
  }
  const files = [...perFile].map(([name, count]) => `${name} (${count})`).join(', ')
  return `the adapter left ${leaks.length} descriptor${leaks.length === 1 ? '' : 's'} open after close(): ${files} in ${dir}`
}

/**
 * Closes `leaks` so the cases after this one have descriptors to run with (the case already
 * fails with {@link describeLeak}). Only descriptors on the case's own directory, which is deleted
 * next, and only once every board of the case closed. Returns how many it closed.
 */
export function closeLeakedDescriptors(leaks: readonly OpenDescriptor[]): number {
  let closed = 0
  for (const { fd } of leaks) {
    try {
      closeSync(fd)
      closed += 1
    } catch {
      // Closed meanwhile.
    }
  }
  return closed
}

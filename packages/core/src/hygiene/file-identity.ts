import { statSync } from 'node:fs'

/** Which file a path names right now: the device and inode `stat` reports, and its size. */
export interface FileIdentity {
  readonly device: bigint
  readonly inode: bigint
  readonly size: bigint
}

/**
 * Stats `path` (never opens it: an `fs` open and close of a live database drops this process's
 * POSIX locks on it, hazard H2). Undefined when nothing is there.
 */
export function fileIdentity(path: string): FileIdentity | undefined {
  const stats = statSync(path, { bigint: true, throwIfNoEntry: false })
  return stats === undefined ? undefined : { device: stats.dev, inode: stats.ino, size: stats.size }
}

/** True when both identities name the same file (same device and inode). */
export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.device === b.device && a.inode === b.inode
}

/** A string key for an identity, for maps keyed by file. */
export function fileKey(identity: FileIdentity): string {
  return `${identity.device}:${identity.inode}`
}

import { statSync } from 'node:fs'

/**
 * Which bytes a path names right now, as far as `stat` can tell without opening the file: device,
 * inode, size and modification time. Restoring a backup by `mv`, copying a good file over it, or any
 * write changes at least one of them.
 */
export interface FileFingerprint {
  /** False when nothing is at the path. */
  readonly exists: boolean
  readonly device: string
  readonly inode: string
  readonly size: string
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: string
}

/** Stats `path` (never opens it) and returns its {@link FileFingerprint}. */
export function fingerprintFile(path: string): FileFingerprint {
  const stats = statSync(path, { bigint: true, throwIfNoEntry: false })
  if (stats === undefined) return { exists: false, device: '', inode: '', size: '', mtimeNs: '' }
  return {
    exists: true,
    device: String(stats.dev),
    inode: String(stats.ino),
    size: String(stats.size),
    mtimeNs: String(stats.mtimeNs),
  }
}

/** True when both fingerprints describe the same bytes at the path. */
export function sameFingerprint(a: FileFingerprint, b: FileFingerprint): boolean {
  return a.exists === b.exists && a.device === b.device && a.inode === b.inode && a.size === b.size && a.mtimeNs === b.mtimeNs
}

/** True when both fingerprints name the same file (device and inode), whatever its size or mtime. */
export function sameInode(a: FileFingerprint, b: FileFingerprint): boolean {
  return a.exists && b.exists && a.device === b.device && a.inode === b.inode
}

import { statfsSync } from 'node:fs'
import { UnsupportedFilesystem } from '../errors/errors.js'

/**
 * Refusing filesystems WAL cannot be safe on. WAL needs shared memory (the `-shm` mapping) and
 * POSIX locks that every process on one host sees. Network and host-bridge filesystems give neither
 * reliably: NFS locks go through a lock daemon (or not at all) and memory maps are not coherent
 * between clients; SMB/CIFS maps byte-range locks onto its own protocol; 9p (how WSL2 reaches
 * Windows drives, and some container volume mounts) has no POSIX locks at all. Users of the Python
 * board lost boards on Kubernetes NFS volumes and on WSL2 exactly this way.
 *
 * The check reads the filesystem type of the board's folder (`statfs(2)`'s `f_type`) once per
 * open. It never opens the database.
 */

/** A filesystem kanban-db refuses, by its `statfs` magic number. */
export interface RefusedFilesystem {
  /** `f_type` from statfs(2). */
  readonly magic: number
  /** What people call it. */
  readonly name: string
}

/** The filesystems refused by default (magic numbers from linux/magic.h and the CIFS/SMB2 clients). */
export const REFUSED_FILESYSTEMS: readonly RefusedFilesystem[] = [
  { magic: 0x6969, name: 'NFS' },
  { magic: 0xff534d42, name: 'CIFS' },
  { magic: 0x517b, name: 'SMB' },
  { magic: 0xfe534d42, name: 'SMB2' },
  { magic: 0x01021997, name: '9p (v9fs, as WSL2 mounts Windows drives)' },
]

/** Filesystems known to be fine, by magic, only to name them in the result. */
const KNOWN_LOCAL: Readonly<Record<number, string>> = {
  0xef53: 'ext2/ext3/ext4',
  0x794c7630: 'overlayfs',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
}

/** What {@link checkFilesystem} decided. */
export interface FilesystemCheck {
  /** The folder checked. */
  readonly dir: string
  /** `f_type` of the folder's filesystem. */
  readonly magic: number
  /** Its name when known (`ext2/ext3/ext4`, `NFS`, ...), else the magic in hex. */
  readonly name: string
  /** True when the filesystem is one kanban-db refuses. */
  readonly unsupported: boolean
  /** True when it is unsupported but the caller overrode the refusal. */
  readonly overridden: boolean
}

/** Options for {@link checkFilesystem}. */
export interface FilesystemCheckOptions {
  /** How to read the filesystem type (tests inject one). Default: `fs.statfsSync`. */
  readonly statfs?: (dir: string) => { readonly type: number | bigint }
  /**
   * Open on a refused filesystem anyway. Only for those who know their mount gives one host coherent
   * shared memory and POSIX locks (for example an NFS export used by exactly one client with working
   * `lockd`). Default false.
   */
  readonly allowUnsupported?: boolean
}

/**
 * Reads the filesystem type of `dir` (the board's folder) and raises {@link UnsupportedFilesystem}
 * for NFS, SMB/CIFS and 9p unless `allowUnsupported` is set. Local filesystems (ext4, xfs, btrfs,
 * overlayfs, tmpfs, ...) pass. Returns what it found either way, for `board.health()`.
 */
export function checkFilesystem(dir: string, options: FilesystemCheckOptions = {}): FilesystemCheck {
  const statfs = options.statfs ?? ((path: string) => statfsSync(path))
  const magic = Number(statfs(dir).type) >>> 0
  const refused = REFUSED_FILESYSTEMS.find((filesystem) => filesystem.magic === magic)
  const name = refused?.name ?? KNOWN_LOCAL[magic] ?? `0x${magic.toString(16)}`
  const result: FilesystemCheck = {
    dir,
    magic,
    name,
    unsupported: refused !== undefined,
    overridden: refused !== undefined && (options.allowUnsupported ?? false),
  }
  if (refused !== undefined && !options.allowUnsupported) {
    throw new UnsupportedFilesystem(
      `The board's folder ${dir} is on ${refused.name} (statfs type 0x${magic.toString(16)}), which cannot give SQLite's WAL mode ` +
        'what it needs: shared memory and POSIX locks that every process sees on one host. Boards on such mounts lose commits ' +
        'or get corrupted when more than one process uses them. Put the board on a local disk (or a local volume of the ' +
        'container); if you know this mount is used by one host with working locks, open with allowUnsupportedFilesystem: true.',
      { details: { dir, magic, filesystem: refused.name } },
    )
  }
  return result
}

import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'

/** Which of the board's files a descriptor points at. */
export type BoardFileKind = 'database' | 'wal' | 'shm' | 'journal'

/** One descriptor a process holds on the board or a sidecar. */
export interface HeldFile {
  readonly file: BoardFileKind
  readonly fd: number
  /** The kernel says `(deleted)`: the name was unlinked while the process keeps the file open. */
  readonly deleted: boolean
  /** The path now names another file (another inode) than the one the process has open. */
  readonly replaced: boolean
}

/** A process holding the board or one of its sidecars open. */
export interface FileHolder {
  readonly pid: number
  /** Its command line (`/proc/<pid>/cmdline`), or its name when the command line is empty. */
  readonly command: string
  /** True for the process running the doctor. */
  readonly self: boolean
  readonly files: readonly HeldFile[]
  /**
   * The SQLite libraries mapped into the process (`/proc/<pid>/maps`): each better-sqlite3 addon
   * file and each shared libsqlite3 is its own copy of SQLite. SQLite compiled into a program (the
   * node binary's node:sqlite, the sqlite3 shell built statically) does not show here.
   */
  readonly sqliteLibraries: readonly string[]
}

/** What {@link findHolders} saw. */
export interface HolderScan {
  /** False where `/proc` cannot be read (not Linux); `reason` says why. */
  readonly supported: boolean
  readonly reason?: string
  readonly holders: readonly FileHolder[]
  /** Processes whose descriptors this user may not read (other users' processes, without root). */
  readonly uninspectable: number
}

const SUFFIXES: ReadonlyArray<readonly [string, BoardFileKind]> = [['', 'database'], ['-wal', 'wal'], ['-shm', 'shm'], ['-journal', 'journal']]

/**
 * Every process that holds `realPath` (the board's real path) or its `-wal`, `-shm` or `-journal`
 * open, by `readlink` on `/proc/<pid>/fd/*` and `stat` through those links. Nothing is opened: the
 * kernel's tables are read, never the board.
 */
export function findHolders(realPath: string): HolderScan {
  let pids: number[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number)
  } catch (error) {
    return { supported: false, reason: `cannot list processes: ${(error as Error).message}`, holders: [], uninspectable: 0 }
  }
  const byTarget = new Map<string, { file: BoardFileKind; deleted: boolean }>()
  for (const [suffix, file] of SUFFIXES) {
    byTarget.set(`${realPath}${suffix}`, { file, deleted: false })
    byTarget.set(`${realPath}${suffix} (deleted)`, { file, deleted: true })
  }
  const current = new Map(SUFFIXES.map(([suffix, file]) => [file, inodeOf(`${realPath}${suffix}`)]))
  const holders: FileHolder[] = []
  let uninspectable = 0
  for (const pid of pids) {
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch (error) {
      if ((error as { code?: string }).code === 'EACCES') uninspectable += 1
      continue // gone since the listing, or not ours to read
    }
    const files: HeldFile[] = []
    for (const fd of fds) {
      let target: string
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      } catch {
        continue
      }
      const match = byTarget.get(target)
      if (match === undefined) continue
      const open = inodeOf(`/proc/${pid}/fd/${fd}`)
      const now = current.get(match.file)
      const replaced = !match.deleted && open !== undefined && now !== undefined && open !== now
      files.push({ file: match.file, fd: Number(fd), deleted: match.deleted, replaced })
    }
    if (files.length > 0) holders.push({ pid, command: commandOf(pid), self: pid === process.pid, files, sqliteLibraries: sqliteLibrariesOf(pid) })
  }
  return { supported: true, holders, uninspectable }
}

/** A process's command line, as the kernel keeps it. */
export function commandOf(pid: number): string {
  try {
    const line = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((part) => part !== '').join(' ') // --allow-fs: the kernel's process table, not the board
    if (line !== '') return line
    return `[${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]` // --allow-fs: as above
  } catch {
    return '(gone)'
  }
}

/** A mapped file that is a copy of SQLite: a better-sqlite3 addon (its prebuild or a build), or a shared libsqlite3. */
const SQLITE_LIBRARY = /(?:\/better-sqlite3\/.*\.node|\/[^/]*better_sqlite3[^/]*\.node|\/libsqlite3\.so[.\d]*)$/

/** The distinct SQLite libraries `pid` has mapped (see {@link FileHolder.sqliteLibraries}). */
export function sqliteLibrariesOf(pid: number): string[] {
  let maps: string
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8') // --allow-fs: the kernel's memory map of the process, not the board
  } catch {
    return []
  }
  const libraries = new Set<string>()
  for (const line of maps.split('\n')) {
    const path = line.slice(line.indexOf('/')).trim()
    if (line.includes('/') && SQLITE_LIBRARY.test(path)) libraries.add(path.replace(/ \(deleted\)$/, ''))
  }
  return [...libraries].sort()
}

/** True when a process with this pid exists on this host (signal 0; EPERM means it exists). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM'
  }
}

function inodeOf(path: string): string | undefined {
  try {
    const stats = statSync(path, { bigint: true })
    return `${stats.dev}:${stats.ino}`
  } catch {
    return undefined
  }
}

import { lstatSync, readlinkSync, realpathSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'

/** How many symbolic links {@link realBoardPath} follows for a board file that does not exist yet (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40

/**
 * The board's real path: the file every other SQLite client on this host opens for `given`, with
 * every symbolic link resolved and every `..` taken by the operating system's rules (the parent of
 * where a link points, not the text before it: `a/sub/../board.db` with `sub` a link to
 * `other/deep` is `other/board.db`, as SQLite's own path resolution and the kernel see it).
 * `path.resolve` alone normalises `..` as text and names a different file.
 *
 * Resolved once at open; every sidecar (`-wal`, `-shm`), lock file (`.init-lock`, `.<name>-lock`),
 * stat and copy is derived from it. A file that does not exist yet resolves through its directory
 * (and through a dangling link, to where SQLite would create it). A directory that does not exist is
 * left to the open to report, as `path.resolve` has it. `:memory:` and `''` are returned as they are.
 * Uses `realpath(3)` (`fs.realpathSync.native`: Node's JavaScript `realpathSync` normalises `..` as
 * text first), `lstat` and `readlink`; never opens the file.
 */
export function realBoardPath(given: string): string {
  if (given === ':memory:' || given === '') return given
  // No textual normalisation: `..` after a link must be the kernel's.
  let candidate = isAbsolute(given) ? given : `${process.cwd()}/${given}`
  for (let links = 0; links <= MAX_LINKS; links += 1) {
    const real = tryRealpath(candidate)
    if (real !== undefined) return real
    const name = basename(candidate)
    if (name === '' || name === '.' || name === '..') return resolve(given)
    const directory = tryRealpath(dirname(candidate))
    if (directory === undefined) return resolve(given)
    const inDirectory = join(directory, name)
    const link = lstatSync(inDirectory, { throwIfNoEntry: false })
    if (link === undefined || !link.isSymbolicLink()) return inDirectory
    // A dangling link: SQLite follows it and creates the file where it points.
    const target = readlinkSync(inDirectory)
    candidate = isAbsolute(target) ? target : `${directory}/${target}`
  }
  return resolve(given)
}

function tryRealpath(path: string): string | undefined {
  try {
    return realpathSync.native(path)
  } catch {
    return undefined
  }
}

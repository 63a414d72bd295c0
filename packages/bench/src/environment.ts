import { statfsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus, loadavg, totalmem } from 'node:os'
import { plainjobVersion } from './baselines/plainjob.ts'

const require = createRequire(import.meta.url)

/** `statfs` magic numbers of the filesystems the bench names. */
const FILESYSTEMS: Readonly<Record<number, string>> = {
  0xef53: 'ext4',
  0x01021994: 'tmpfs',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x6969: 'nfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
  0xf2f52010: 'f2fs',
  0x65735546: 'fuse',
  0xff534d42: 'cifs',
  0x858458f6: 'ramfs',
}

/** The filesystem magic of tmpfs, where fsync costs nothing and every ratio would lie. */
export const TMPFS_MAGIC = 0x01021994

/** Names the filesystem `dir` lives on, from `statfs`. */
export function filesystemOf(dir: string): { readonly magic: string; readonly name: string; readonly isTmpfs: boolean } {
  const type = Number(statfsSync(dir).type)
  return {
    magic: `0x${type.toString(16)}`,
    name: FILESYSTEMS[type] ?? 'unknown',
    isTmpfs: type === TMPFS_MAGIC || type === 0x858458f6,
  }
}

/** What the run measured on. */
export interface Environment {
  readonly date: string
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly dir: string
  readonly filesystem: string
  readonly node: string
  readonly drivers: Record<string, string>
  /** Pragmas read back, per connection kind (board, raw). Filled in as the run goes. */
  readonly pragmas: Record<string, Readonly<Record<string, string | number>>>
  /** The 1, 5 and 15 minute load averages when the run began (the machine is shared: say the load with every figure). */
  readonly load: readonly number[]
  /** The 1 minute load average at the end of each repetition, filled in as the run goes. */
  readonly loadPerRepetition: number[]
}

/** Records the environment. Adapter identities are added by the caller (they load asynchronously). */
export function describeEnvironment(dir: string): Environment {
  const fs = filesystemOf(dir)
  const betterSqlite3 = (require('better-sqlite3/package.json') as { version: string }).version
  const Database = require('better-sqlite3') as typeof import('better-sqlite3')
  const probe = new Database(':memory:')
  const betterSqliteVersion = (probe.prepare('select sqlite_version() as v').get() as { v: string }).v
  probe.close()
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    dir,
    filesystem: `${fs.name} (${fs.magic})`,
    node: process.versions.node,
    drivers: {
      'better-sqlite3 (raw baselines)': `${betterSqlite3}, SQLite ${betterSqliteVersion}`,
      plainjob: plainjobVersion,
    },
    pragmas: {},
    load: loadavg().map((l) => Math.round(l * 100) / 100),
    loadPerRepetition: [],
  }
}

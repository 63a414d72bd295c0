import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openBoard, type Board } from '@kanban-db/core'
import { postgres } from '@kanban-db/adapter-postgres'
import { NotMeasured } from '../contender.ts'
import { now } from '../clock.ts'

/**
 * The server every Postgres contender of one run measures on: `KANBAN_DB_POSTGRES_URL` (set by
 * `./dev bench`: a throwaway server, the one `./dev postgres start` runs, or the caller's own).
 * Without it the Postgres contenders are NOT MEASURED with this reason.
 */
export function postgresUrl(): string {
  const url = process.env['KANBAN_DB_POSTGRES_URL']
  if (!url) {
    throw new NotMeasured(
      'KANBAN_DB_POSTGRES_URL is unset: no PostgreSQL server to measure on (./dev bench starts one when PostgreSQL 15 is installed; or set it to a postgresql:// URL)',
    )
  }
  return url
}

/**
 * The shell command that restarts the server of {@link postgresUrl} (`./dev bench` sets
 * `KANBAN_DB_POSTGRES_RESTART` only for the throwaway server it started for the run; never for one
 * kept with `./dev postgres start` or named by the caller).
 * Without it P5 is NOT MEASURED with this reason.
 */
export function restartCommand(): string {
  const command = process.env['KANBAN_DB_POSTGRES_RESTART']
  if (!command) {
    throw new NotMeasured(
      'KANBAN_DB_POSTGRES_RESTART is unset: the bench may not restart this server (./dev bench sets it only for the throwaway server it starts for the run, never for a kept or named one; stop a server kept with ./dev postgres start to measure P5)',
    )
  }
  return command
}

/** Runs the restart command with `sh -c`; resolves with how long it took (ms), rejects with its output when it fails. */
export function runRestart(command: string): Promise<number> {
  const started = now()
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', command], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`the restart command failed (${error.message.split('\n')[0]}): ${`${stdout}${stderr}`.trim().slice(-400)}`))
      else resolve(now() - started)
    })
  })
}

/** A fresh schema name for one run of one contender: never reused, so no run sees another's rows. */
export function freshSchema(label: string): string {
  return `bench_${label.replace(/[^a-z0-9_]/g, '_')}_${process.pid}_${randomBytes(4).toString('hex')}`.slice(0, 63)
}

/** One connection of the bench's own (not the board's) to `url`, in `schema` when one is given. */
export async function adminClient(url: string, schema?: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, ...(schema ? { options: `-c search_path=${schema}` } : {}), application_name: 'kanban-db-bench' })
  client.on('error', () => {})
  await client.connect()
  return client
}

/** Drops `schema` and everything in it (the end of every Postgres contender's run). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = await adminClient(url)
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  } finally {
    await client.end().catch(() => {})
  }
}

/**
 * Runs `body` with a fresh schema and drops the schema afterwards, whatever happened (after a
 * failed drop, retried once: a server restarted moments ago may refuse the first connection).
 */
export async function withFreshSchema<T>(label: string, body: (url: string, schema: string) => Promise<T>): Promise<T> {
  const url = postgresUrl()
  const schema = freshSchema(label)
  try {
    return await body(url, schema)
  } finally {
    if (!process.env['BENCH_KEEP']) {
      await dropSchema(url, schema).catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000))
        await dropSchema(url, schema)
      })
    }
  }
}

/** A board on the Postgres engine in `schema` (created by its first open). */
export function openPgBoard(url: string, schema: string, pool?: pg.PoolConfig): Promise<Board> {
  return openBoard({ engine: postgres({ connectionString: url, schema, ...(pool ? { pool } : {}) }) })
}

/** `count` ready tasks titled for the bench, priorities 0-4, as `createTasks` inputs. */
export function pgBenchTasks(count: number, offset = 0): Array<{ title: string; priority: number }> {
  return Array.from({ length: count }, (_, i) => ({ title: `bench task ${offset + i}`, priority: (offset + i) % 5 }))
}

/**
 * Creates `count` ready tasks through the board, 1,000 per `createTasks` (one transaction each),
 * four calls at a time: on Postgres createTasks sends two single-row INSERTs per task (about 0.7 ms
 * a task here), and the fleets' backlogs run to thousands of tasks.
 */
export async function fillPgBoard(board: Board, count: number, offset = 0): Promise<void> {
  let next = 0
  const filler = async (): Promise<void> => {
    while (next < count) {
      const from = next
      next += 1000
      await board.createTasks(pgBenchTasks(Math.min(1000, count - from), offset + from))
    }
  }
  await Promise.all(Array.from({ length: 4 }, filler))
}

/** Prints a line on stderr when BENCH_DEBUG is set. */
export function debug(message: string): void {
  if (process.env['BENCH_DEBUG']) console.error(`[pg ${new Date().toISOString()}] ${message}`)
}

/** The server's version and the settings that decide commit cost, for the notes. */
export async function describeServer(url: string): Promise<string> {
  const client = await adminClient(url)
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'max_connections', 'shared_buffers') ORDER BY name`,
    )
    return rows.map((r) => `${r.name}=${r.setting}`).join(' ')
  } finally {
    await client.end().catch(() => {})
  }
}

/** The shared monotonic clock (clock.ts), re-exported for the Postgres contenders. */
export { sharedNow } from '../clock.ts'

/** Clock ticks per second in /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100

/**
 * A reader of the CPU time (ms, user + system) the server's processes have used so far: the
 * postmaster, every live child of it (backends, checkpointer, WAL writer...), and the children it
 * has reaped (its cutime/cstime), read from /proc. Undefined where the server is not on this
 * machine (or /proc cannot be read). Take it before and after a run: the difference is what the
 * server spent on it (and on anything else it served meanwhile).
 */
export async function serverCpuReader(url: string): Promise<(() => number) | undefined> {
  let postmaster: number
  try {
    const client = await adminClient(url)
    try {
      const backend = Number((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid)
      postmaster = Number(procStat(backend)[1])
    } finally {
      await client.end().catch(() => {})
    }
    if (!procStat(postmaster)[0]!.includes('postgres')) return undefined
  } catch {
    return undefined
  }
  return () => {
    let ticks = 0
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      const pid = Number(entry)
      try {
        const fields = procStat(pid)
        // fields[0] is the command; [1] ppid; [11] utime, [12] stime, [13] cutime, [14] cstime.
        if (pid === postmaster) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
        else if (Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12])
      } catch {
        // The process ended while /proc was read: its time is in the postmaster's cutime.
      }
    }
    return (ticks * 1000) / TICKS_PER_SECOND
  }
}

/** /proc/PID/stat from the command on: [command, ppid, ...] (field 2 on, with the state dropped). */
function procStat(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const close = text.lastIndexOf(')')
  const command = text.slice(text.indexOf('(') + 1, close)
  const rest = text.slice(close + 2).split(' ')
  // rest[0] is the state, rest[1] the ppid, rest[11] utime ... (proc(5) fields 3 on).
  return [command, ...rest.slice(1)]
}

import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteBoard } from '../sqlite/sqlite-board.js'
import type { BoardEngineFactory } from '../engine/board-engine.js'
import type { CommonBoardOptions } from '../board/board-options.js'
import type { QuarantinePolicy } from '../corruption/quarantine.js'
import type { HygienePolicy } from '../hygiene/hygiene-policy.js'
import type { DispatcherEvent } from './dispatcher-events.js'
import type { ExitPolicy } from './exit-policy.js'
import type { SpawnWorker } from './worker-handle.js'

/**
 * A board on an engine package's engine, for {@link DispatcherOptions.boards}: the dispatcher opens
 * it with `openBoard({ ...options, engine })`, takes its tick lock through the engine
 * (`tryLock('dispatch')`: on a PostgreSQL server a session advisory lock, dropped by the server
 * when the holder's session dies), and compares stored times with the board's clock (the server's).
 * The SQLite file steps (ghost check, quarantine, file probes, checkpoints) do not exist for it.
 *
 * ```ts
 * new Dispatcher({ boards: [{ name: 'agents', engine: postgres({ connectionString, schema: 'agents' }) }], spawn })
 * ```
 */
export interface DispatcherBoardSource {
  /**
   * What events and `status()` call the board (their `board` / `path`): unique among the
   * dispatcher's boards, and never a password (a connection string is not a good name).
   */
  readonly name: string
  /** How to reach the board, for example `postgres({ connectionString, schema })` or `pglite()`. */
  readonly engine: BoardEngineFactory
  /** Board options for `openBoard` (rules, write options, a `clock` for tests). */
  readonly options?: CommonBoardOptions
}

/** One entry of {@link DispatcherOptions.boards}: a SQLite board file's path, or a board on an engine. */
export type DispatcherBoard = string | DispatcherBoardSource

/** What `new Dispatcher(options)` takes. Only `boards` and `spawn` are required, and `adapter` for SQLite paths. */
export interface DispatcherOptions {
  /**
   * The boards to supervise, in the order each tick visits them: SQLite board files by path (opened
   * with `adapter`), and boards on other engines as {@link DispatcherBoardSource}s. Both may be mixed.
   */
  readonly boards: readonly DispatcherBoard[]
  /** The adapter every SQLite board path is opened with (one adapter per file per process). Required when `boards` has a path. */
  readonly adapter?: SqliteAdapter
  /** Starts a worker for a claimed task. */
  readonly spawn: SpawnWorker
  /** Workers per board at most. Default 4. */
  readonly concurrency?: number
  /** Workers across all boards at most. Default unlimited. */
  readonly maxWorkers?: number
  /** Milliseconds between the end of one timer-driven tick and the start of the next. Default 1000. */
  readonly intervalMs?: number
  /**
   * Lease of each claim in ms. The dispatcher heartbeats the claim while the worker runs, so the
   * lease only runs out when the dispatcher itself is gone. Default 300,000 (5 min).
   */
  readonly leaseMs?: number
  /** Heartbeat a running worker's claim when its last heartbeat is this old. Default `leaseMs / 3`. */
  readonly heartbeatEveryMs?: number
  /**
   * Grace window of `detectCrashedWorkers`: claims younger than this are left alone, so a restarted
   * dispatcher does not reclaim work another dispatcher has just started. Default: the board's
   * (`KANBAN_DB_CRASH_GRACE_MS`, else 30 s).
   */
  readonly graceMs?: number
  /** True when a process is alive on this host. Default: `process.kill(pid, 0)`. */
  readonly isAlive?: (pid: number) => boolean
  /** The worker id written into claims. Default `dispatcher:<host>:<pid>:<random>`. */
  readonly workerId?: string
  /** The host written into claims and used for crash detection. Default `os.hostname()`. */
  readonly host?: string
  /** Claim only tasks with this assignee (`null`: only unassigned ones). Default: any ready task. */
  readonly assignee?: string | null
  /**
   * What a worker's exit means for its task. Default: code 0 completes, anything else fails. Not
   * asked for a worker the dispatcher terminated: a timed-out one is failed with kind `timeout`, a
   * stopped one's claim is released, one whose claim ended under it is left alone.
   */
  readonly exitPolicy?: ExitPolicy
  /**
   * How long a worker the dispatcher terminates gets between SIGTERM and SIGKILL, and again after
   * SIGKILL before the dispatcher stops waiting for it (ms, by `now`; checked every tick, and while
   * `stop()` waits every `intervalMs`). Default 10,000.
   */
  readonly killGraceMs?: number
  /**
   * A worker of this dispatcher whose task ran past its `maxRuntimeMs`: `terminate` it (SIGTERM,
   * SIGKILL after `killGraceMs`), then `fail` the claim with kind `timeout` once it has exited
   * (default); or only `report` it (an `overran` event) and leave it running.
   */
  readonly onOverrun?: 'terminate' | 'report'
  /**
   * A worker of this dispatcher whose claim ended under it (its task was archived, its claim taken
   * back, or its task is gone from the board): `terminate` it (default), or only `report` it (a
   * `claim-ended` event) and leave it running. Its exit is not written either way.
   */
  readonly onClaimEnded?: 'terminate' | 'report'
  /** Quarantine backoff (SQLite paths). Default 30 s doubling to 30 min. */
  readonly quarantine?: Partial<QuarantinePolicy>
  /**
   * Also check each open board's file this often (ms), through a fresh read-only connection
   * (`probeBoardFile`: header, then `quick_check`), so damage in pages the tick never reads is
   * found too. Costs one O(pages) scan per board per period. SQLite paths only. Default: off
   * (damage is found when an operation meets it).
   */
  readonly checkEveryMs?: number
  /**
   * Run each board's turn under the board's tick lock, so two dispatchers never tick one board at
   * the same time; a dispatcher that finds it held skips the board that tick. On a SQLite path it is
   * `<board>.dispatch-lock` (a SQLite-held lock the kernel releases when its holder dies, the file
   * `SqliteEngine.tryLock('dispatch')` takes); on an engine board the engine's
   * `tryLock('dispatch')` (on a PostgreSQL server a session advisory lock the server releases when
   * the holder's session or process dies). Default true. Switch off only to show what the lock
   * protects against.
   */
  readonly tickLock?: boolean
  /**
   * Run a passive WAL checkpoint (`board.checkpoint('PASSIVE')`) on each board at most this often
   * (ms, by `now`), at the end of a turn; the first one period after the board's first turn. It
   * never waits for readers or writers. The result is in a `checkpointed` event, in
   * `status().boards[i].lastCheckpoint` and in the board's `health().lastCheckpoint`. SQLite paths
   * only (a server has no WAL file to keep small). Default 300,000 (5 min).
   */
  readonly checkpointEveryMs?: number
  /** Run `integrity_check` instead of `quick_check` when checking, confirming and probing (SQLite paths). Default false. */
  readonly integrityProbe?: boolean
  /** Connection-hygiene policy overrides for every SQLite board path. */
  readonly policy?: Partial<HygienePolicy>
  /**
   * Opens one SQLite board path. Default: `openBoard({ path, adapter, policy, clock: now })`.
   * Override to pass board options of your own. (Engine boards take theirs in
   * {@link DispatcherBoardSource.options}.)
   */
  readonly openBoard?: (path: string, adapter: SqliteAdapter) => Promise<SqliteBoard>
  /**
   * Milliseconds since the epoch. Default `Date.now`; inject a clock in tests. It times the
   * dispatcher's own periods (heartbeats, kill grace, drain deadline, checks, checkpoints) and
   * stamps events; on SQLite paths it is also the board's clock (this host's, as every writer of
   * the file). On an engine board, lease expiry, `maxRuntimeMs` and the crash grace are judged by
   * the board's clock (the server's on Postgres), never by this one: a dispatcher whose host clock
   * is wrong neither takes back live claims nor lets overrunning work run. On SQLite paths, a jump
   * of this clock by more than a minute beyond what the monotonic clock saw pass between two of
   * the dispatcher's readings is taken for a step (NTP) and does not count toward its own workers'
   * `maxRuntimeMs`: a test clock should advance by a minute or less between ticks.
   */
  readonly now?: () => number
  /** Receives every event (in addition to `dispatcher.on` listeners). */
  readonly events?: (event: DispatcherEvent) => void
}

/** A new worker id for a dispatcher on this host. */
export function newDispatcherId(host: string): string {
  return `dispatcher:${host}:${process.pid}:${randomBytes(4).toString('hex')}`
}

/** The local host name, as claims record it. */
export function localHost(): string {
  return hostname()
}

/** True when `pid` names a live process (EPERM means alive but not ours). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

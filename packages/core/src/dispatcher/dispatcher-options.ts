import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { SqliteAdapter } from '../adapter/sqlite-adapter.js'
import type { SqliteBoard as Board } from '../sqlite/sqlite-board.js'
import type { QuarantinePolicy } from '../corruption/quarantine.js'
import type { HygienePolicy } from '../hygiene/hygiene-policy.js'
import type { DispatcherEvent } from './dispatcher-events.js'
import type { ExitPolicy } from './exit-policy.js'
import type { SpawnWorker } from './worker-handle.js'

/** What `new Dispatcher(options)` takes. Only `boards`, `adapter` and `spawn` are required. */
export interface DispatcherOptions {
  /** The board files to supervise, in the order each tick visits them. */
  readonly boards: readonly string[]
  /** The adapter every board is opened with (one adapter per file per process). */
  readonly adapter: SqliteAdapter
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
  /** Quarantine backoff. Default 30 s doubling to 30 min. */
  readonly quarantine?: Partial<QuarantinePolicy>
  /**
   * Also check each open board's file this often (ms), through a fresh read-only connection
   * (`probeBoardFile`: header, then `quick_check`), so damage in pages the tick never reads is
   * found too. Costs one O(pages) scan per board per period. Default: off (damage is found when an
   * operation meets it).
   */
  readonly checkEveryMs?: number
  /**
   * Run each board's turn under the board's tick lock (`<board>.dispatch-lock`, a SQLite-held lock
   * the kernel releases when its holder dies), so two dispatchers never tick one board at the same
   * time; a dispatcher that finds it held skips the board that tick. Default true. Switch off only
   * to show what the lock protects against.
   */
  readonly tickLock?: boolean
  /**
   * Run a passive WAL checkpoint (`board.checkpoint('PASSIVE')`) on each board at most this often
   * (ms, by `now`), at the end of a turn; the first one period after the board's first turn. It
   * never waits for readers or writers. The result is in a `checkpointed` event, in
   * `status().boards[i].lastCheckpoint` and in the board's `health().lastCheckpoint`. Default 300,000 (5 min).
   */
  readonly checkpointEveryMs?: number
  /** Run `integrity_check` instead of `quick_check` when checking, confirming and probing. Default false. */
  readonly integrityProbe?: boolean
  /** Connection-hygiene policy overrides for every board. */
  readonly policy?: Partial<HygienePolicy>
  /**
   * Opens one board. Default: `openBoard({ path, adapter, policy, clock: now })`. Override to pass
   * board options of your own.
   */
  readonly openBoard?: (path: string, adapter: SqliteAdapter) => Promise<Board>
  /** Milliseconds since the epoch. Default `Date.now`; inject a clock in tests. */
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

import type { DoctorFinding } from './finding.js'
import { isProcessAlive } from './process-scan.js'

/** Runs one read-only SQL statement on the board and returns its rows (same SQL on both engines). */
export type BoardQuery = (sql: string) => Promise<ReadonlyArray<Record<string, unknown>>>

/** A write dated this far after the doctor's clock means a writer's clock runs ahead. */
export const CLOCK_SKEW_TOLERANCE_MS = 5_000

/** What {@link boardFindings} needs besides the query. */
export interface BoardCheckContext {
  /** The board's clock now (this host's on SQLite, the server's on Postgres). */
  readonly now: number
  /** This host's name: a claim's pid can only be looked at on its own host. */
  readonly host: string
  /** Whose clock `now` is, for messages. */
  readonly clockName: string
}

interface ClaimRow {
  id: string
  title: string
  status: string
  claimed_by: string | null
  worker_pid: number | null
  worker_host: string | null
  claimed_at: number | null
  claim_expires_at: number | null
  heartbeat_at: number | null
  max_runtime_ms: number | null
}

/**
 * The board-level findings, the same on every engine: stale claims (lease ran out), crashed claims
 * (the holder's pid on this host is gone while its lease runs), overrunning claims (past the task's
 * maxRuntimeMs), tasks backing off, and writes dated after the board's clock (clock skew). Reads only.
 */
export async function boardFindings(query: BoardQuery, context: BoardCheckContext): Promise<DoctorFinding[]> {
  return [...(await claimFindings(query, context)), ...(await backoffFindings(query, context)), ...(await clockFindings(query, context))]
}

async function claimFindings(query: BoardQuery, { now, host }: BoardCheckContext): Promise<DoctorFinding[]> {
  const rows = (await query(
    'SELECT id, title, status, claimed_by, worker_pid, worker_host, claimed_at, claim_expires_at, heartbeat_at, max_runtime_ms ' +
      'FROM tasks WHERE claim_token IS NOT NULL ORDER BY claimed_at, id',
  )).map((row) => normalise(row) as unknown as ClaimRow)
  const findings: DoctorFinding[] = []
  for (const row of rows) {
    const local = row.worker_host === host
    const alive = local && row.worker_pid !== null ? isProcessAlive(row.worker_pid) : undefined
    const holder = describeHolder(row, alive)
    const claim = { taskId: row.id, title: row.title, status: row.status, workerId: row.claimed_by, pid: row.worker_pid, host: row.worker_host, holderAlive: alive, claimedAt: row.claimed_at, claimExpiresAt: row.claim_expires_at, heartbeatAt: row.heartbeat_at }
    if (row.claim_expires_at !== null && row.claim_expires_at <= now) {
      findings.push({
        id: 'claim-stale',
        severity: 'warning',
        title: `Task ${row.id} is held by a claim whose lease ran out ${ago(now - row.claim_expires_at)} ago`,
        detail: `"${row.title}" (${row.status}) was claimed by ${holder}; its last heartbeat was ${row.heartbeat_at === null ? 'never' : `${ago(now - row.heartbeat_at)} ago`}. ` +
          'Nothing claims it again until something takes the expired claim back.',
        action: alive
          ? `The worker is alive but stopped heartbeating (stuck or paused): look at it, then reclaim the task if it will not finish: kanban-db reclaim <board> ${row.id} <reason>.`
          : `Run a dispatcher or a board.work worker (either takes expired claims back), or reclaim the task by hand: kanban-db reclaim <board> ${row.id} <reason>.`,
        data: claim,
      })
    } else if (alive === false) {
      findings.push({
        id: 'claim-crashed',
        severity: 'warning',
        title: `Task ${row.id} is claimed by a worker that is gone (pid ${row.worker_pid} on this host)`,
        detail: `"${row.title}" was claimed by ${holder}; its lease still runs ${row.claim_expires_at === null ? 'with no end' : `for ${ago(row.claim_expires_at - now)}`}, so it waits that long unless a crash detector takes it back.`,
        action: `A dispatcher on this host takes it back after its crash grace (detectCrashedWorkers); to free it now: kanban-db reclaim <board> ${row.id} <reason>.`,
        data: claim,
      })
    }
    if (row.max_runtime_ms !== null && row.claimed_at !== null && row.claimed_at + row.max_runtime_ms <= now) {
      findings.push({
        id: 'claim-overrunning',
        severity: 'warning',
        title: `Task ${row.id} has run ${ago(now - row.claimed_at)}, past its maxRuntimeMs of ${ago(row.max_runtime_ms)}`,
        detail: `"${row.title}" is held by ${holder}.`,
        action: `A dispatcher terminates the worker and fails the attempt as a timeout; without one, stop the worker and reclaim the task: kanban-db reclaim <board> ${row.id} <reason>.`,
        data: { ...claim, maxRuntimeMs: row.max_runtime_ms, runningMs: now - row.claimed_at },
      })
    }
  }
  if (findings.length === 0) {
    findings.push({
      id: 'claims',
      severity: 'ok',
      title: rows.length === 0 ? 'No task is claimed' : `${rows.length} claim(s), each within its lease and runtime, held by live or remote workers`,
      detail: 'No stale, crashed or overrunning claim.',
      data: { claims: rows.length },
    })
  }
  return findings
}

async function backoffFindings(query: BoardQuery, { now }: BoardCheckContext): Promise<DoctorFinding[]> {
  const rows = (await query(`SELECT id, title, not_before, consecutive_failures, last_error FROM tasks WHERE status = 'ready' AND not_before > ${Math.floor(now)} ORDER BY not_before, id`))
    .map(normalise)
  if (rows.length === 0) return []
  const next = Number(rows[0]!.not_before)
  return [{
    id: 'tasks-backing-off',
    severity: 'info',
    title: `${rows.length} ready task(s) wait out a retry backoff or rate-limit cooldown; the next is claimable in ${ago(next - now)}`,
    detail: rows.slice(0, 5).map((row) => `${row.id} until ${new Date(Number(row.not_before)).toISOString()} (${row.consecutive_failures} failure(s) in a row${row.last_error ? `: ${String(row.last_error).slice(0, 120)}` : ''})`).join('; '),
    action: 'Nothing to do unless the failures repeat: read the last error (kanban-db show <id>) and fix its cause.',
    data: { tasks: rows.map((row) => ({ taskId: row.id, notBefore: Number(row.not_before), consecutiveFailures: Number(row.consecutive_failures), lastError: row.last_error })) },
  }]
}

async function clockFindings(query: BoardQuery, { now, clockName }: BoardCheckContext): Promise<DoctorFinding[]> {
  const limit = Math.floor(now + CLOCK_SKEW_TOLERANCE_MS)
  const events = (await query(`SELECT e.kind, e.task_id, e.created_at, r.worker_id, r.host, r.pid FROM events e LEFT JOIN task_runs r ON r.id = e.run_id WHERE e.created_at > ${limit} ORDER BY e.created_at DESC LIMIT 5`)).map(normalise)
  const tasks = (await query(`SELECT id, updated_at, heartbeat_at, worker_host FROM tasks WHERE updated_at > ${limit} OR heartbeat_at > ${limit} ORDER BY updated_at DESC LIMIT 5`)).map(normalise)
  if (events.length === 0 && tasks.length === 0) {
    return [{ id: 'clock', severity: 'ok', title: `No write on the board is dated after ${clockName}`, detail: `Tolerance ${CLOCK_SKEW_TOLERANCE_MS / 1000} s.` }]
  }
  const latest = Math.max(...events.map((row) => Number(row.created_at)), ...tasks.map((row) => Math.max(Number(row.updated_at), Number(row.heartbeat_at ?? 0))))
  const writers = [...new Set(events.filter((row) => row.worker_id !== null).map((row) => `${row.worker_id} (pid ${row.pid} on ${row.host})`))]
  return [{
    id: 'clock-skew',
    severity: 'warning',
    title: `Writes on the board are dated up to ${ago(latest - now)} after ${clockName}`,
    detail: `A process writing to the board has a clock that runs ahead${writers.length > 0 ? `: ${writers.join(', ')}` : ''}. ` +
      `Latest: ${events.map((row) => `${row.kind} of ${row.task_id} at ${new Date(Number(row.created_at)).toISOString()}`).slice(0, 3).join('; ') || tasks.map((row) => `task ${row.id}`).join(', ')}. ` +
      'Leases, backoffs and due times written with that clock end late or early for everyone else.',
    action: 'Synchronise the clocks of every host that writes to the board (NTP: timedatectl, chrony); on Postgres the server clock is used, so look for a client that passes its own clock.',
    data: { aheadMs: latest - now, events, tasks },
  }]
}

function describeHolder(row: ClaimRow, alive: boolean | undefined): string {
  const where = row.worker_host === null ? '' : ` on ${row.worker_host}`
  const state = alive === true ? ', alive' : alive === false ? ', no longer running' : row.worker_pid === null ? '' : ', on another host (not checked)'
  return `${row.claimed_by ?? 'an unknown worker'} (pid ${row.worker_pid ?? '?'}${where}${state})`
}

/** Durations for people: 350 ms, 42 s, 7 min, 3 h, 2 d. */
export function ago(ms: number): string {
  const abs = Math.abs(ms)
  if (abs < 1000) return `${Math.round(ms)} ms`
  if (abs < 120_000) return `${Math.round(ms / 1000)} s`
  if (abs < 7_200_000) return `${Math.round(ms / 60_000)} min`
  if (abs < 172_800_000) return `${Math.round(ms / 3_600_000)} h`
  return `${Math.round(ms / 86_400_000)} d`
}

/** Numbers as numbers (bigints from SQLite, numeric strings never reach here: both engines parse int8). */
function normalise(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'bigint' ? Number(value) : value]))
}

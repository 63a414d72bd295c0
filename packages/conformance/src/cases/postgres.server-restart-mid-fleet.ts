import { strict as assert } from 'node:assert'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Board } from '@kanban-db/core'
import type { PostgresBoardSpec } from '../board-spec.js'
import { halfAppliedRows } from '../board-rows.js'
import type { CaseContext, ConformanceCase } from '../case.js'
import type { FleetLaneResult } from '../child-tasks/postgres-fleet-worker.js'
import { openPostgresBoard } from '../child-tasks/postgres-board.js'
import type { PinnedMessage, PinnedResult } from '../child-tasks/postgres-pinned-completion.js'
import { caseSchemaName } from '../postgres-session.js'
import { describeError } from '../run-task.js'
import type { TaskHandle } from '../task-handle.js'
import { FleetMonitor } from './postgres.scenario.js'

const run = promisify(execFile)

/** Tasks of the fleet. */
const TASKS = 1_500
const WORKER_PROCESSES = 3
const LANES = 2
/** The server restarts once the fleet has reported this many completions. */
const RESTART_AFTER = 200
/** How long the private server's script may take for one command (initdb, a restart). */
const SCRIPT_TIMEOUT_MS = 120_000

/**
 * Workers in 3 processes (2 lanes each) claim and complete 1,500 tasks in `completeAndClaimNext`
 * chains while the server is restarted with `pg_ctl restart -m fast`; a fourth worker's completion is
 * pinned open across the restart (it waits inside its write transaction until the restart is over),
 * so the restart certainly hits a write in flight. Workers that get `ConnectionLost` back off briefly
 * and go on; they count only completions acknowledged to them, and read the board to learn what a
 * lost call did (a lost completion that landed is `confirmed`, one that did not is sent again; a claim
 * whose answer was lost is adopted). After the restart work resumes, and at the end: every
 * acknowledged completion is done on the board, every task done, completed once (one completed event,
 * one completed run) and claimed once (one claimed event, no two workers told of one claim), and no
 * error but ConnectionLost surfaced.
 *
 * The restart must never touch a server someone else uses: the case starts a private server of its
 * own (`scripts/postgres-server.sh start` with `KANBAN_DB_POSTGRES_OWNER` set to this process's pid,
 * the script's owner form; a pid because the script's start removes the servers of owners that are
 * not live pids) and stops it at the end whatever happens. Without the script or PostgreSQL it skips,
 * saying so.
 *
 * Control, first, on a board of its own on the same server: the pinned worker acknowledging its
 * completion from inside the open transaction and taking the ConnectionLost of its COMMIT for success
 * counts a task done that the restart rolled back: it is still running on the board.
 */
export const serverRestartMidFleet: ConformanceCase = {
  id: 'postgres.server-restart-mid-fleet',
  title:
    'the server restarted (pg_ctl restart -m fast, a private server) under 3 processes of completeAndClaimNext chains: every acknowledged completion done, none twice, no double claim, only ConnectionLost surfaced, work resumes',
  tier: 'faults',
  engines: ['postgres'],
  requires: [],
  timeoutMs: 300_000,
  async run(context) {
    const server = await PrivateServer.start(context)
    const boards: Board[] = []
    const open = async (spec: PostgresBoardSpec) => {
      const board = await openPostgresBoard(spec, { engine: { poolSize: 2 } })
      boards.push(board)
      return board
    }
    try {
      // Control: an acknowledgement given inside the transaction the restart rolls back.
      const controlSpec = server.spec(context)
      const control = await open(controlSpec)
      await control.createTask({ title: 'acknowledged before its commit' })
      const naive = context.spawn<PinnedResult>('postgres-pinned-completion', { board: controlSpec, mode: 'ack-before-commit' })
      const controlClaim = (await naive.receive()) as PinnedMessage
      naive.send('complete')
      assert.equal(((await naive.receive()) as PinnedMessage).kind, 'completed')
      await server.restart()
      naive.send('go')
      const naiveResult = await naive.result
      const controlStatus = (await control.getTask(controlClaim.id))?.status
      context.note(
        `control (acknowledged inside the transaction, ConnectionLost of the COMMIT taken for success): the worker counts [${naiveResult.acknowledged.join(', ')}] done ` +
          `after it met ${naiveResult.errors.join(', ') || 'no error'}; on the board that task is ${controlStatus}`,
      )
      if (controlStatus === 'done') throw new Error('control did not reproduce the hazard: the completion acknowledged before its COMMIT survived the restart')

      const spec = server.spec(context)
      const board = await open(spec)
      await board.createTask({ title: 'pinned across the restart', priority: 9 })
      const pinned = context.spawn<PinnedResult>('postgres-pinned-completion', { board: spec, mode: 'honest' })
      const pinnedClaim = (await pinned.receive()) as PinnedMessage
      assert.equal(pinnedClaim.kind, 'claimed')
      for (let created = 0; created < TASKS; created += 500) {
        await board.createTasks(Array.from({ length: 500 }, (_, index) => ({ title: `task ${created + index}` })))
      }
      const fleet: TaskHandle<{ lanes: FleetLaneResult[] }>[] = []
      for (let index = 0; index < WORKER_PROCESSES; index++) fleet.push(context.spawn('postgres-fleet-worker', { board: spec, workerId: `w${index}`, lanes: LANES }))
      try {
        for (const worker of fleet) assert.equal(await worker.receive(), 'ready')
        const monitor = new FleetMonitor(fleet)
        for (const worker of fleet) worker.send('go')
        await monitor.until(() => monitor.count >= RESTART_AFTER)
        pinned.send('complete')
        assert.equal(((await pinned.receive()) as PinnedMessage).kind, 'in-flight')
        const beforeRestart = monitor.count
        const restartStarted = performance.now()
        await server.restart()
        const restartMs = performance.now() - restartStarted
        const afterRestart = monitor.count
        pinned.send('go')
        const pinnedResult = await pinned.result
        assert.ok(afterRestart < TASKS, `the fleet had finished (${afterRestart} completions) before the restart was over: it hit nothing mid-fleet`)
        await monitor.until(() => monitor.count >= TASKS)
        for (const worker of fleet) worker.send('drain')
        const lanes = (await Promise.all(fleet.map((worker) => worker.result))).flatMap((result) => result.lanes)
        const ids = (await board.listTasks({ limit: 10_000 })).map((task) => task.id)
        const summary = await verify(board, ids, lanes, pinnedClaim.id, pinnedResult)
        context.note(
          `restart (${Math.round(restartMs)} ms) after ${beforeRestart} of ${TASKS} completions, ${afterRestart - beforeRestart} reported while it ran, ${monitor.count - afterRestart} after: ${summary}`,
        )
      } catch (error) {
        for (const worker of fleet) worker.send('abort')
        throw error
      }
    } finally {
      await Promise.allSettled(boards.map((board) => board.close()))
      await server.stop()
    }
  },
}

/** The end state of the real run; a line for the report. */
async function verify(board: Board, ids: readonly string[], lanes: readonly FleetLaneResult[], pinnedId: string, pinned: PinnedResult): Promise<string> {
  assert.equal(ids.length, TASKS + 1, 'the board does not hold every task created')
  const failed = lanes.filter((lane) => Object.keys(lane.errors).length > 0)
  assert.deepEqual(failed.map((lane) => ({ lane: lane.workerId, errors: lane.errors, samples: lane.errorSamples })), [], 'errors other than ConnectionLost surfaced to workers')
  assert.deepEqual(pinned.errors.filter((code) => code !== 'CONNECTION_LOST'), [], `the pinned worker met errors other than ConnectionLost: ${pinned.errorSamples.join('; ')}`)
  assert.ok(pinned.errors.length > 0, 'the pinned completion did not meet the restart (no ConnectionLost)')
  assert.deepEqual(pinned.acknowledged, [pinnedId], 'the pinned worker did not complete its task after the restart')

  // What the workers were told, and what they found: each task once, by one lane.
  const acknowledged = new Map<string, string>([[pinnedId, 'pinned']])
  const confirmed = new Map<string, string>()
  const claimedBy = new Map<string, string>([[pinnedId, 'pinned']])
  for (const lane of lanes) {
    for (const id of lane.claimed) {
      assert.equal(claimedBy.get(id), undefined, `task ${id} was claimed by ${claimedBy.get(id)} and ${lane.workerId}`)
      claimedBy.set(id, lane.workerId)
    }
    for (const [list, into] of [[lane.completed, acknowledged], [lane.confirmed, confirmed]] as const) {
      for (const id of list) {
        assert.ok(!acknowledged.has(id) && !confirmed.has(id), `task ${id} was completed twice as the workers saw it (${acknowledged.get(id) ?? confirmed.get(id)} and ${lane.workerId})`)
        into.set(id, lane.workerId)
      }
    }
  }
  const notFinished = ids.filter((id) => !acknowledged.has(id) && !confirmed.has(id))
  assert.deepEqual(notFinished.slice(0, 10), [], `${notFinished.length} tasks no worker completed`)

  // The board agrees: every acknowledged completion is done, every task done once, claimed once.
  const rows = await board.db.selectFrom('tasks').select(['id', 'status']).execute()
  const status = new Map(rows.map((row) => [row.id, row.status]))
  const lostAcks = [...acknowledged.keys()].filter((id) => status.get(id) !== 'done')
  assert.deepEqual(lostAcks.slice(0, 10), [], `${lostAcks.length} acknowledged completions are not done on the board`)
  assert.deepEqual(rows.filter((row) => row.status !== 'done').map((row) => `${row.id} ${row.status}`).slice(0, 10), [], 'tasks not done')
  const events = await board.db.selectFrom('events').select(['task_id', 'kind']).execute()
  for (const kind of ['claimed', 'completed'] as const) {
    const perTask = new Map<string, number>()
    for (const event of events) if (event.kind === kind) perTask.set(event.task_id, (perTask.get(event.task_id) ?? 0) + 1)
    const wrong = ids.filter((id) => perTask.get(id) !== 1)
    assert.deepEqual(wrong.slice(0, 10).map((id) => `${id}: ${perTask.get(id) ?? 0}`), [], `${wrong.length} tasks without exactly one ${kind} event`)
  }
  const runs = await board.db.selectFrom('task_runs').select('outcome').select((eb) => eb.fn.countAll<number>().as('n')).groupBy('outcome').execute()
  assert.deepEqual(runs.map((row) => [row.outcome, Number(row.n)]), [['completed', ids.length]], 'task runs are not one completed run per task')
  assert.deepEqual(await halfAppliedRows(board, 1), [], 'half-applied rows')

  const lost = lanes.reduce((sum, lane) => sum + lane.connectionLost, 0)
  const adopted = lanes.reduce((sum, lane) => sum + lane.adopted.length, 0)
  return (
    `fleet lanes met ConnectionLost ${lost} times (the pinned completion ${pinned.errors.length}), found ${confirmed.size} lost completions applied and adopted ${adopted} claims whose answer was lost; ` +
    `${acknowledged.size} acknowledged completions all done, ${ids.length} tasks each claimed and completed once, no other error`
  )
}

/**
 * A PostgreSQL server of the case's own, from `scripts/postgres-server.sh` with
 * `KANBAN_DB_POSTGRES_OWNER`, so restarting it disturbs nobody. The owner is this process's pid: the
 * script's `start` removes the servers of owners that are not live processes (any other owner name
 * would be removed by the next start of anyone), and a server this process leaves behind (killed
 * with SIGKILL) is removed by the next start once it is gone.
 */
class PrivateServer {
  private constructor(
    private readonly script: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly url: string,
  ) {}

  static async start(context: CaseContext): Promise<PrivateServer> {
    const script = findServerScript()
    if (script === undefined) context.skip('scripts/postgres-server.sh is not in this checkout (the case starts a private server with it)')
    const missing = missingPostgres(script)
    if (missing !== undefined) context.skip(missing)
    const env = { ...process.env, KANBAN_DB_POSTGRES_OWNER: String(process.pid) }
    let url: string
    try {
      const { stdout } = await run('bash', [script, 'start'], { env, timeout: SCRIPT_TIMEOUT_MS })
      url = stdout.trim().split('\n').at(-1)!
    } catch (error) {
      // A failed start may have left a directory behind: the script's stop removes it.
      await run('bash', [script, 'stop'], { env, timeout: SCRIPT_TIMEOUT_MS }).catch(() => {})
      const reason = /\[postgres\] error: (.*)/.exec(String((error as { stderr?: unknown }).stderr ?? ''))?.[1]
      if (reason !== undefined && /not installed|apt-get/.test(reason)) context.skip(`no PostgreSQL for a private server: ${reason}`)
      throw new Error(`could not start a private PostgreSQL server: ${reason ?? describeError(error)}`, { cause: error })
    }
    if (!url.startsWith('postgresql://')) throw new Error(`scripts/postgres-server.sh start printed no URL (${url})`)
    return new PrivateServer(script, env, url)
  }

  /** A fresh board (schema) on this server, for children and for this process. */
  spec(context: CaseContext): PostgresBoardSpec {
    return { engine: 'postgres', moduleName: context.moduleName, resolveFrom: context.resolveFrom, connectionString: this.url, schema: caseSchemaName() }
  }

  /** `pg_ctl restart -m fast`: every session is ended, the server is back once this resolves. */
  async restart(): Promise<void> {
    await run('bash', [this.script, 'restart'], { env: this.env, timeout: SCRIPT_TIMEOUT_MS })
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await run('bash', [this.script, 'stop'], { env: this.env, timeout: SCRIPT_TIMEOUT_MS })
  }
}

/** `scripts/postgres-server.sh` of the repository this package sits in (`<repo>/packages/conformance`), if there. */
function findServerScript(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === '@kanban-db/conformance') { // --allow-fs: a package manifest
      const script = join(dir, '..', '..', 'scripts', 'postgres-server.sh')
      return existsSync(script) ? script : undefined
    }
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/**
 * Why the script cannot start a server here, if its PostgreSQL is not installed (checked first, so the
 * case never sets off the script's apt-get install).
 */
function missingPostgres(script: string): string | undefined {
  const version = /^PG_VERSION=(\d+)/m.exec(readFileSync(script, 'utf8'))?.[1] // --allow-fs: the script's text
  if (version === undefined) return undefined
  const bin = `/usr/lib/postgresql/${version}/bin`
  return existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')) ? undefined : `PostgreSQL ${version} is not installed (${bin} missing), which scripts/postgres-server.sh needs for a private server`
}

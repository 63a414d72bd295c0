import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { postgres } from '@kanban-db/adapter-postgres'
import { openBoard, type Board } from '@kanban-db/core'
import { runDoctor, type DoctorReport } from '../src/doctor/index.js'
import { findingsOf, problems, until } from './doctor-harness.js'
import { Client, type PgClient } from './pg-client.js'

const url = process.env['KANBAN_DB_POSTGRES_URL'] || undefined
const SKIPPED = 'SKIPPED: KANBAN_DB_POSTGRES_URL is not set; export it (./dev postgres url) to run the doctor on a real server'


const schemas = new Set<string>()
const boards = new Set<Board>()
const clients = new Set<PgClient>()
const children = new Set<ChildProcess>()

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  await Promise.allSettled([...boards].map((board) => board.close()))
  boards.clear()
  await Promise.allSettled([...clients].map((client) => client.end()))
  clients.clear()
  if (schemas.size === 0) return
  const admin = await session()
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  schemas.clear()
})

/** A board in a fresh schema of the server, closed and dropped after the test. */
async function freshBoard(): Promise<{ board: Board; schema: string }> {
  const schema = `kd_${randomBytes(6).toString('hex')}`
  schemas.add(schema)
  const board = await openBoard({ engine: postgres({ connectionString: url!, schema, poolSize: 2 }) })
  boards.add(board)
  return { board, schema }
}

/** A session of its own on the server, ended after the test. */
async function session(): Promise<PgClient> {
  const client = new Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  clients.add(client)
  return client
}

/** Runs the doctor on the board in `schema`; every report must survive `--json` (no bigint, no cycle). */
async function doctor(schema: string, longTransactionMs?: number): Promise<DoctorReport> {
  const report = await runDoctor({ engine: 'postgres', connectionString: url!, schema }, longTransactionMs === undefined ? {} : { longTransactionMs })
  JSON.stringify(report)
  return report
}

describe.skipIf(url === undefined)(url === undefined ? `doctor on PostgreSQL (${SKIPPED})` : 'doctor on PostgreSQL', () => {
  it('shows the server version and a read-only session, finds nothing wrong on a healthy board, and changes no row', async () => {
    const { board, schema } = await freshBoard()
    await board.createTask({ title: 'one' })
    const admin = await session()
    const snapshot = async () => (await admin.query(`SELECT (SELECT json_agg(t ORDER BY id) FROM ${schema}.tasks t)::text AS tasks, (SELECT json_agg(e ORDER BY id) FROM ${schema}.events e)::text AS events`)).rows[0]
    const before = await snapshot()
    const report = await doctor(schema)
    expect(problems(report)).toEqual([])
    const [version] = findingsOf(report, 'server-version')
    const serverVersion = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v
    expect(version).toMatchObject({ severity: 'info', data: { serverVersion } })
    expect(findingsOf(report, 'connection')[0]).toMatchObject({ severity: 'ok', data: { readOnlySession: 'on', schema } })
    expect(report.findings.map((finding) => finding.id)).toEqual(expect.arrayContaining(['schema-version', 'transactions', 'locks-held', 'advisory-locks', 'claims', 'clock']))
    expect(await snapshot()).toEqual(before)
  })

  it('reports a board that is not there (board-missing) and a server it cannot reach (server-unreachable)', async () => {
    expect(findingsOf(await doctor(`kd_${randomBytes(6).toString('hex')}`), 'board-missing')[0]).toMatchObject({ severity: 'error' })
    const closed = new URL(url!)
    closed.searchParams.set('host', '/nonexistent-socket-dir')
    const report = await runDoctor({ engine: 'postgres', connectionString: closed.toString(), schema: undefined })
    expect(findingsOf(report, 'server-unreachable')[0]).toMatchObject({ severity: 'error' })
  })

  it('reports a transaction left open in another session (long-transaction), with its locks on the board', async () => {
    const { board, schema } = await freshBoard()
    const task = await board.createTask({ title: 'held' })
    const other = await session()
    const pid = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    expect(findingsOf(await doctor(schema, 200), 'long-transaction')).toEqual([]) // the control: nothing open yet
    await other.query('BEGIN')
    await other.query(`SELECT id FROM ${schema}.tasks WHERE id = $1 FOR UPDATE`, [task.id])
    let report!: DoctorReport
    await until(async () => findingsOf((report = await doctor(schema, 200)), 'long-transaction').length > 0)
    const [long] = findingsOf(report, 'long-transaction')
    expect(long).toMatchObject({ severity: 'warning', data: { pid, state: 'idle in transaction', locksBoard: true } })
    expect(long!.action).toContain(`pg_terminate_backend(${pid})`)
    expect((findingsOf(report, 'locks-held')[0]!.data as { granted: Array<{ pid: number; relation: string }> }).granted).toEqual(
      expect.arrayContaining([expect.objectContaining({ pid, relation: 'tasks' })]),
    )
    await other.query('ROLLBACK')
  })

  it("names the process holding the board's dispatcher lock (advisory-lock-held) and a migration's lock (migration-lock-held)", async () => {
    const { schema } = await freshBoard()
    expect(findingsOf(await doctor(schema), 'advisory-locks')[0]).toMatchObject({ severity: 'ok' })
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'doctor-pg-locker.mjs'), url!, schema, 'dispatcher'], { stdio: ['ignore', 'pipe', 'pipe'] })
    children.add(child)
    let output = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk) => (output += chunk).split('\n').includes('ready') && resolve())
      child.stderr!.on('data', (chunk) => (output += chunk))
      child.once('exit', (code) => reject(new Error(`the lock holder exited (${code}): ${output}`)))
    })
    const [held] = findingsOf(await doctor(schema), 'advisory-lock-held')
    expect(held).toMatchObject({ severity: 'info', data: { name: 'dispatcher', application_name: 'kanban-db' } })
    expect(held!.title).toContain("'dispatcher'")

    const migrator = await session()
    const migratorPid = (await migrator.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
    await migrator.query("SELECT pg_advisory_lock(hashtext('kanban_db.migrate'), hashtext($1))", [schema])
    expect(findingsOf(await doctor(schema), 'migration-lock-held')[0]).toMatchObject({ severity: 'warning', data: { pid: migratorPid } })
  })

  it('reports a stale claim on the server (claim-stale), by the server clock', async () => {
    const { board, schema } = await freshBoard()
    await board.createTask({ title: 'work' })
    const dead = spawn(process.execPath, ['-e', ''])
    await new Promise((resolve) => dead.once('exit', resolve))
    await board.claimNext({ workerId: 'gone', leaseMs: 1, pid: dead.pid! })
    let report!: DoctorReport
    await until(async () => findingsOf((report = await doctor(schema)), 'claim-stale').length > 0)
    expect(findingsOf(report, 'claim-stale')[0]).toMatchObject({ data: { pid: dead.pid, holderAlive: false, workerId: 'gone' } })
  })
})

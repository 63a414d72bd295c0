import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { postgres, SCHEMA_VERSION_TABLE } from '@kanban-db/adapter-postgres'
import { openBoard, type Board } from '@kanban-db/core'
import { runDoctor, type DoctorFinding, type DoctorReport } from '../src/doctor/index.js'
import { cli } from './command-harness.js'
import { findingsOf, tempDir, until } from './doctor-harness.js'
import { Client, type PgClient } from './pg-client.js'

const url = process.env['KANBAN_DB_POSTGRES_URL'] || undefined
const SKIPPED = 'SKIPPED: KANBAN_DB_POSTGRES_URL is not set; export it (./dev postgres url) to produce these conditions on a real server'


const schemas = new Set<string>()
const roles = new Set<string>()
const boards = new Set<Board>()
const clients = new Set<PgClient>()

afterEach(async () => {
  await Promise.allSettled([...boards].map((board) => board.close()))
  boards.clear()
  await Promise.allSettled([...clients].map((client) => client.end()))
  clients.clear()
  if (schemas.size === 0 && roles.size === 0) return
  const admin = await session()
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
  for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`)
  schemas.clear()
  roles.clear()
  await admin.end()
  clients.delete(admin)
})

/** A board in a fresh schema of the server, closed and dropped after the test. */
async function freshBoard(): Promise<{ board: Board; schema: string }> {
  const schema = `kd_${randomBytes(6).toString('hex')}`
  schemas.add(schema)
  const board = await openBoard({ engine: postgres({ connectionString: url!, schema, poolSize: 2 }) })
  boards.add(board)
  return { board, schema }
}

/** A session of its own on the server (as `user` when given), ended after the test. */
async function session(user?: string): Promise<PgClient> {
  const client = new Client({ connectionString: user === undefined ? url : asUser(user), application_name: 'doctor-test' })
  client.on('error', () => {})
  await client.connect()
  clients.add(client)
  return client
}

function asUser(user: string): string {
  const other = new URL(url!)
  other.username = user
  other.password = ''
  return other.toString()
}

async function pidOf(client: PgClient): Promise<number> {
  return (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
}

/** Runs the doctor on the board in `schema` (as `user` when given); every report must survive `--json`. */
async function doctor(schema: string, user?: string): Promise<DoctorReport> {
  const report = await runDoctor({ engine: 'postgres', connectionString: user === undefined ? url! : asUser(user), schema })
  JSON.stringify(report)
  return report
}

describe.skipIf(url === undefined)(url === undefined ? `doctor conditions on PostgreSQL (${SKIPPED})` : 'doctor conditions on PostgreSQL', () => {
  it('reports a session waiting for a row another session holds (locks-waiting), naming the blocker', async () => {
    const { board, schema } = await freshBoard()
    const task = await board.createTask({ title: 'contended' })
    const holder = await session()
    const waiter = await session()
    const [holderPid, waiterPid] = [await pidOf(holder), await pidOf(waiter)]
    await holder.query('BEGIN')
    await holder.query(`SELECT id FROM ${schema}.tasks WHERE id = $1 FOR UPDATE`, [task.id])
    // The control: a lock held with nobody waiting for it is no wait.
    expect(findingsOf(await doctor(schema), 'locks-waiting')).toEqual([])

    const update = waiter.query(`UPDATE ${schema}.tasks SET title = 'waited' WHERE id = $1`, [task.id]) // what a claim of that row does
    let report!: DoctorReport
    await until(async () => findingsOf((report = await doctor(schema)), 'locks-waiting').length > 0)
    const [waiting] = findingsOf(report, 'locks-waiting')
    expect(waiting).toMatchObject({ severity: 'warning', data: { waiting: expect.arrayContaining([expect.objectContaining({ pid: waiterPid, blocked_by: [holderPid] })]) } })
    expect(waiting!.detail).toContain(`pid ${waiterPid}`)
    expect(waiting!.detail).toContain(`blocked by ${holderPid}`)
    expect(waiting!.action).toMatch(/blocking session/)
    await holder.query('ROLLBACK')
    await update
    await until(async () => findingsOf(await doctor(schema), 'locks-waiting').length === 0)
  })

  it('reports a session waiting for a table lock another session holds (locks-waiting)', async () => {
    const { board, schema } = await freshBoard()
    await board.createTask({ title: 'one' })
    const holder = await session()
    const waiter = await session()
    const [holderPid, waiterPid] = [await pidOf(holder), await pidOf(waiter)]
    await holder.query('BEGIN')
    await holder.query(`LOCK TABLE ${schema}.tasks IN SHARE MODE`) // readers pass, writers wait
    expect(findingsOf(await doctor(schema), 'locks-waiting')).toEqual([]) // the control
    const insert = waiter.query(`UPDATE ${schema}.tasks SET title = 'waited'`)
    let report!: DoctorReport
    await until(async () => findingsOf((report = await doctor(schema)), 'locks-waiting').length > 0)
    const [waiting] = findingsOf(report, 'locks-waiting')
    expect(waiting).toMatchObject({ severity: 'warning', data: { waiting: [expect.objectContaining({ pid: waiterPid, relation: 'tasks', mode: 'RowExclusiveLock', blocked_by: [holderPid] })] } })
    await holder.query('ROLLBACK')
    await insert
  })

  it('reports a board migrated by a newer kanban-db (schema-newer)', async () => {
    const { schema } = await freshBoard()
    const [current] = findingsOf(await doctor(schema), 'schema-version')
    expect(current).toMatchObject({ severity: 'ok' }) // the control
    const latest = (current!.data as { version: number }).version
    const admin = await session()
    // What a newer kanban-db's migration leaves: one more step recorded.
    await admin.query(`INSERT INTO ${schema}.${SCHEMA_VERSION_TABLE} (version, description, applied_at) SELECT max(version) + 1, 'from a newer kanban-db', 0 FROM ${schema}.${SCHEMA_VERSION_TABLE}`)
    const report = await doctor(schema)
    expect(findingsOf(report, 'schema-newer')[0]).toMatchObject({ severity: 'error', data: { version: latest + 1, latest } })
    expect(findingsOf(report, 'claims')).toEqual([]) // a board it does not understand is not read as tasks
  })

  it('reports a check that cannot run (doctor-check-failed): a table of the board dropped, a user without the privileges', async () => {
    const { board, schema } = await freshBoard()
    await board.createTask({ title: 'one' })
    expect(findingsOf(await doctor(schema), 'doctor-check-failed')).toEqual([]) // the control

    const role = `kd_r_${randomBytes(5).toString('hex')}`
    roles.add(role)
    const admin = await session()
    await admin.query(`CREATE ROLE ${role} LOGIN`)
    // No USAGE on the schema: the schema check is refused (it used to be reported as a lost connection).
    const refused = await doctor(schema, role)
    expect(findingsOf(refused, 'server-unreachable')).toEqual([])
    const [schemaCheck] = findingsOf(refused, 'doctor-check-failed')
    expect(schemaCheck).toMatchObject({ severity: 'warning', data: { check: 'schema version', code: '42501' } })
    expect(schemaCheck!.detail).toMatch(/permission denied/)
    expect(schemaCheck!.action).toMatch(/grant/i)
    expect(findingsOf(refused, 'locks-held')).toHaveLength(1) // the other checks still ran

    // The schema readable but not the tasks: the board checks are refused, the rest reported.
    await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT ON ${schema}.${SCHEMA_VERSION_TABLE} TO ${role}`)
    const partly = await doctor(schema, role)
    expect(findingsOf(partly, 'schema-version')[0]).toMatchObject({ severity: 'ok' })
    expect(findingsOf(partly, 'doctor-check-failed')[0]).toMatchObject({ data: { check: 'claims, backoff and clock', code: '42501' } })

    await admin.query(`DROP TABLE ${schema}.events CASCADE`)
    const [dropped] = findingsOf(await doctor(schema), 'doctor-check-failed')
    expect(dropped).toMatchObject({ severity: 'warning', data: { check: 'claims, backoff and clock', code: '42P01' } })
    expect(dropped!.detail).toMatch(/events/)
    expect(dropped!.action).toMatch(/restore/)
  })

  it("reports this host's clock off from the server's (client-clock-skew), from a kanban-db doctor whose clock runs 30 s ahead", async () => {
    const { schema } = await freshBoard()
    const target = new URL(url!)
    target.searchParams.set('schema', schema)
    const skewOf = (stdout: string) => (JSON.parse(stdout) as { findings: DoctorFinding[] }).findings.filter((finding) => finding.id === 'client-clock-skew')
    // The control: the command on this host's clock, which is the server's (same machine).
    const same = await cli(['doctor', target.toString(), '--json'])
    expect(skewOf(same.stdout)).toEqual([])
    expect(same.code).toBe(0)
    // The machine's clock is shared (and CLOCK_REALTIME has no namespace), so the process's own clock
    // is moved: Date.now, which the doctor reads, runs 30 s ahead in the child.
    const preload = join(tempDir(), 'clock-ahead.mjs')
    writeFileSync(preload, 'const now = Date.now\nDate.now = () => now() + 30_000\n')
    const ahead = await cli(['doctor', target.toString(), '--json'], { env: { NODE_OPTIONS: `--import=${preload}` } })
    const [skew] = skewOf(ahead.stdout)
    expect(skew).toMatchObject({ severity: 'warning' })
    expect(skew!.title).toMatch(/ahead of the server's/)
    expect((skew!.data as { skewMs: number }).skewMs).toBeGreaterThan(25_000)
    expect(skew!.action).toMatch(/NTP/)
    expect(ahead.code).toBe(6) // a warning
  })
})

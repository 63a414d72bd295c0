import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../core/test/temp-dir.js'
import { BOARD_SUBJECTS, ok, POSTGRES_SKIP, postgresUrl, startCli, waitFor } from './command-harness.js'
import { Client, type PgClient } from './pg-client.js'

const postgresBoard = BOARD_SUBJECTS.find((subject) => subject.name === 'postgres')!

/** Polls an async condition every 50 ms for up to 40 s. */
async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 40_000
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function session(): Promise<PgClient> {
  const client = new Client({ connectionString: postgresUrl })
  client.on('error', () => {})
  await client.connect()
  return client
}

describe.skipIf(!postgresUrl)(`kanban-db events --follow on Postgres${postgresUrl ? '' : ` (skip: ${POSTGRES_SKIP})`}`, () => {
  it('outlasts its connection being terminated mid-read (a server restart looks the same): says so on stderr, reads again from the last event, prints each event once', { timeout: 120_000 }, async () => {
    // The follower's connections carry a name of their own, so only they are terminated.
    const name = `kanban-follow-${randomBytes(4).toString('hex')}`
    const url = new URL(postgresBoard.fresh(tempDir()))
    url.searchParams.set('application_name', name)
    const board = url.toString()
    const schema = url.searchParams.get('schema')!
    await ok(['add', board, 'Before', '--id', 'before', '--create'])
    const locker = await session()
    const admin = await session().catch(async (error: unknown) => {
      await locker.end()
      throw error
    })
    const follower = startCli(['events', board, '--follow', '--json', '--poll', '50ms'])
    try {
      await waitFor(() => follower.output.stdout.includes('"before"'), 'the follower to print the existing event', { child: follower })
      // Hold the event log so that the follower's next read waits on the server, then end its session.
      await locker.query('BEGIN')
      await locker.query(`LOCK TABLE "${schema}"."events" IN ACCESS EXCLUSIVE MODE`)
      const waiting = `select pid from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`
      await until('the follower to wait on the locked event log', async () => (await admin.query(waiting, [name])).rows.length > 0)
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`, [name])
      await waitFor(() => follower.output.stderr.includes('CONNECTION_LOST'), 'the follower to report the lost connection', { child: follower })
      expect(follower.output.stderr).toMatch(/Reading again after event \d+/)
      await locker.query('COMMIT')

      await ok(['add', board, 'After', '--id', 'after'])
      await waitFor(() => follower.output.stdout.includes('"after"'), 'the follower to print the task made after the reconnect', { child: follower })
      follower.kill('SIGINT')
      await waitFor(() => follower.exitCode !== null || follower.signalCode !== null, 'the follower to stop on SIGINT')
      const result = await follower.exited
      expect(result.code).toBe(0)
      const printed = result.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { taskId: string; kind: string })
      expect(printed.map((event) => `${event.taskId}:${event.kind}`)).toEqual(['before:created', 'after:created'])
    } finally {
      if (follower.exitCode === null) follower.kill('SIGKILL')
      await locker.query('ROLLBACK').catch(() => {})
      await Promise.allSettled([locker.end(), admin.end()])
    }
  })
})

import { strict as assert } from 'node:assert'
import { existsSync } from 'node:fs'
import { LockTimeout } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { ALL_ENGINES, type CaseContext, type ConformanceCase } from '../case.js'
import type { EngineOpenAnswer } from '../child-tasks/postgres-first-open.js'
import { importModule } from '../import-module.js'
import { withPostgres } from '../postgres-session.js'
import type { TaskHandle } from '../task-handle.js'

const ROUNDS = 50
/** The Postgres form: this many processes race on each fresh schema ... */
const PG_RACERS = 8
/** ... for this many rounds. */
const PG_ROUNDS = 10
/** Where the Postgres engine records each migration step it applied (one row per version), when its package does not say. */
const PG_VERSION_TABLE = 'kanban_db_schema_version'

/** What a racer answers for one round (see the `hygiene-first-open` child task). */
interface RoundAnswer {
  readonly initialised: boolean
  readonly journalMode: string
  readonly schemaVersion: number
  readonly tookInitLock: boolean
}

/**
 * Two processes open the same fresh path at the same moment (both told by one IPC message), 50
 * rounds: exactly one runs `initialise` (it writes a marker row), both end in WAL, and both see the
 * same schema version. Control: the unlocked check-then-initialise, with both processes checking
 * before either initialises (ordered by IPC, not by timing), initialises twice. Then the init lock
 * is shown to die with its holder (SIGKILL), where a mkdir lock (the control) outlives it.
 *
 * The Postgres form: 8 processes open one fresh schema with the engine at the same moment (each told
 * by one IPC message), 10 rounds: every open succeeds, the migration ran exactly once (one row per
 * step in the engine's version table, whose steps cannot run twice without failing an open), and
 * every process sees the current schema version. Control: the unlocked check-then-initialise by the
 * 8 processes, all checking before any initialises, initialises 8 times.
 */
export const firstOpenRace: ConformanceCase = {
  id: 'concurrency.first-open-race',
  title:
    'processes racing on the first open of a fresh board (SQLite: 2 processes, 50 rounds, exactly one initialises, both end in WAL; Postgres: 8 processes on a fresh schema, 10 rounds, migrated exactly once)',
  tier: 'concurrency',
  engines: ALL_ENGINES,
  requires: ['sharedFile', 'wal', 'crossProcessLock'],
  timeoutMs: 180_000,
  async run(context) {
    if (context.engine === 'postgres') return postgresForm(context)
    const racers = [context.spawn('hygiene-first-open'), context.spawn('hygiene-first-open')]
    for (const racer of racers) assert.equal(await next(racer), 'ready')
    const ask = async <T>(message: unknown) => {
      for (const racer of racers) racer.send(message)
      return (await Promise.all(racers.map(next))) as T[]
    }
    const markers = async (path: string) => {
      const connection = await context.adapter.open(path, { create: false })
      try {
        context.adapter.setPragma(connection, 'busy_timeout', 10_000)
        return Number(connection.prepare('SELECT count(*) AS n FROM init_marker').all([])[0]?.n)
      } finally {
        connection.close()
      }
    }

    // Control: both check first, then both initialise, without a lock.
    const controlPath = context.path('control.db')
    const checks = await ask<{ missing: boolean }>({ path: controlPath, mode: 'naive-check' })
    assert.deepEqual(checks.map((check) => check.missing), [true, true])
    await ask({ path: controlPath, mode: 'naive-initialise' })
    const controlMarkers = await markers(controlPath)
    context.note(`control (unlocked check-then-initialise, both checked first): initialised ${controlMarkers} times`)
    if (controlMarkers < 2) throw new Error('control did not reproduce the hazard: the unlocked first open initialised once')

    let lockTaken = 0
    for (let round = 0; round < ROUNDS; round += 1) {
      const path = context.path(`race-${round}.db`)
      const answers = await ask<RoundAnswer>({ path, mode: 'policy' })
      const initialisers = answers.filter((answer) => answer.initialised).length
      assert.equal(initialisers, 1, `round ${round}: ${initialisers} processes ran initialise`)
      assert.equal(await markers(path), 1, `round ${round}: the marker table has the wrong number of rows`)
      assert.deepEqual(answers.map((answer) => answer.journalMode), ['wal', 'wal'], `round ${round}: not both in WAL`)
      assert.equal(answers[0]!.schemaVersion, answers[1]!.schemaVersion, `round ${round}: schema versions differ`)
      lockTaken += answers.filter((answer) => answer.tookInitLock).length
    }
    for (const racer of racers) racer.send('stop')
    await Promise.all(racers.map((racer) => racer.result))
    context.note(`protected: ${ROUNDS} rounds, exactly one initialiser each, both WAL, same schema version; init lock taken ${lockTaken} of ${ROUNDS * 2} opens`)

    // The init lock dies with its holder. Control: a mkdir lock outlives a killed holder.
    const naiveDir = context.path('naive.lock')
    const naiveHolder = context.spawn('hygiene-hold-lock', { naiveDir })
    assert.equal(await next(naiveHolder), 'held')
    await naiveHolder.kill('SIGKILL')
    if (!existsSync(naiveDir)) throw new Error('control did not reproduce the hazard: the mkdir lock vanished with its holder')
    const lockPath = context.path('crash.db.init-lock')
    const holder = context.spawn('hygiene-hold-lock', { lockPath })
    assert.equal(await next(holder), 'held')
    await assert.rejects(context.adapter.acquireLock(lockPath, { timeoutMs: 100 }), LockTimeout, 'the init lock did not exclude this process while another held it')
    const { signal } = await holder.kill('SIGKILL')
    const lock = await context.adapter.acquireLock(lockPath, { timeoutMs: 10_000 })
    lock.release()
    context.note(`crash: a mkdir lock outlived its killed holder (control); the init lock excluded while held and was free once its holder died (${signal})`)
  },
}

/** A racer's next message; a racer that ended early surfaces its own error rather than "ended before sending". */
async function next(racer: TaskHandle): Promise<unknown> {
  try {
    return await racer.receive()
  } catch (error) {
    await racer.result
    throw error
  }
}

/** The Postgres form (see the case): 8 racers per fresh schema, the engine's migration under test. */
async function postgresForm(context: CaseContext): Promise<void> {
  const racers = Array.from({ length: PG_RACERS }, () => context.spawn('postgres-first-open'))
  for (const racer of racers) assert.equal(await next(racer), 'ready')
  const ask = async <T>(message: unknown) => {
    for (const racer of racers) racer.send(message)
    return (await Promise.all(racers.map(next))) as T[]
  }
  // Control: every racer checks for the marker before any initialises, then all initialise, without a lock.
  const control = context.boardSpec('control')
  if (control.engine !== 'postgres') throw new Error('the Postgres form needs a Postgres board spec')
  const sql = <R>(text: string) => withPostgres(control.connectionString, control, (session) => session.query<R>(text))
  await withPostgres(control.connectionString, control, async (session) => {
    await session.query(`CREATE SCHEMA "${control.schema}"`)
    await session.query(`CREATE TABLE "${control.schema}".init_marker (pid INTEGER NOT NULL)`)
  })
  const checks = await ask<{ missing: boolean }>({ board: control, mode: 'naive-check' })
  assert.deepEqual(checks.map((check) => check.missing), Array(PG_RACERS).fill(true))
  await ask({ board: control, mode: 'naive-initialise' })
  const [controlMarkers] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${control.schema}".init_marker`)
  context.note(`control (unlocked check-then-initialise, all ${PG_RACERS} checked first): initialised ${controlMarkers?.n} times`)
  if ((controlMarkers?.n ?? 0) < 2) throw new Error('control did not reproduce the hazard: the unlocked first open initialised once')

  // The engine package names its version table (SCHEMA_VERSION_TABLE); the case reads it as the engine wrote it.
  const named = (await importModule(control.moduleName, control.resolveFrom)).SCHEMA_VERSION_TABLE
  const versionTable = typeof named === 'string' && /^[a-z_][a-z0-9_]*$/.test(named) ? named : PG_VERSION_TABLE
  let steps = 0
  for (let round = 0; round < PG_ROUNDS; round += 1) {
    const board = context.boardSpec(`race-${round}`)
    if (board.engine !== 'postgres') throw new Error('the Postgres form needs a Postgres board spec')
    const answers = await ask<EngineOpenAnswer>({ board, mode: 'engine' })
    const failed = answers.flatMap((answer, racer) => ('error' in answer ? [`racer ${racer}: ${answer.error}`] : []))
    assert.deepEqual(failed, [], `round ${round}: not every racer opened the fresh schema`)
    const versions = answers.map((answer) => ('schemaVersion' in answer ? answer.schemaVersion : -1))
    assert.deepEqual(versions, Array(PG_RACERS).fill(LATEST_SCHEMA_VERSION), `round ${round}: not every racer sees schema version ${LATEST_SCHEMA_VERSION}`)
    const applied = await sql<{ version: number; n: number }>(
      `SELECT version, count(*)::int AS n FROM "${board.schema}".${versionTable} GROUP BY version ORDER BY version`,
    )
    const twice = applied.filter((row) => row.n !== 1)
    assert.deepEqual(twice, [], `round ${round}: migration steps recorded more than once`)
    assert.equal(Math.max(...applied.map((row) => row.version)), LATEST_SCHEMA_VERSION, `round ${round}: the version table does not reach ${LATEST_SCHEMA_VERSION}`)
    steps = applied.length
  }
  for (const racer of racers) racer.send('stop')
  await Promise.all(racers.map((racer) => racer.result))
  context.note(
    `protected: ${PG_ROUNDS} rounds of ${PG_RACERS} processes on a fresh schema, every open succeeded, each of the ${steps} migration step(s) recorded once, every racer at schema version ${LATEST_SCHEMA_VERSION}`,
  )
}

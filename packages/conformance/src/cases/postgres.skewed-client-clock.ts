import { strict as assert } from 'node:assert'
import type { CaseContext, ConformanceCase } from '../case.js'
import type { SkewedAnswer, SkewedCommand } from '../child-tasks/postgres-skewed-clock.js'
import type { TaskHandle } from '../task-handle.js'
import { postgresSpec, ServerProbe } from './postgres.scenario.js'

const HOUR = 60 * 60 * 1000
/** Every lease of the case: far shorter than the skew, far longer than the case. */
const LEASE_MS = 10 * 60 * 1000

/** What one run of the scenario saw. */
interface SkewRun {
  /** The server's clock just before the slow worker claimed, and just after its heartbeat. */
  readonly serverBefore: number
  readonly serverAfter: number
  /** The slow worker's own claim, as the board answered it. */
  readonly slowClaim: SkewedAnswer
  /** The expiry of the task the slow worker heartbeated, before (set with the server's clock) and after its heartbeat. */
  readonly expiryBeforeBeat: number
  readonly beat: SkewedAnswer
  /** What the fast reclaimer's releaseStaleClaims took back. */
  readonly released: readonly string[]
  /** The honest claim (server clock, live lease) the reclaimer must not steal, and the heartbeated one. */
  readonly honestId: string
  readonly beatId: string
  /** Statuses after the reclaim, by task. */
  readonly statuses: Readonly<Record<string, string | undefined>>
  /** How the slow worker's completions of its two tasks ended, then the honest one's. */
  readonly completions: readonly string[]
}

/**
 * A worker process whose clock runs an hour behind claims a task and heartbeats another one it
 * holds, and a reclaimer process whose clock runs an hour ahead calls `releaseStaleClaims`, while an
 * honest worker (this process, server clock) holds a live 10-minute lease (`Date.now` is replaced in
 * both children). The board takes every time it writes from the server's clock, so: the slow worker's
 * claim and heartbeat set expiries from the server's time (none in the past; the heartbeat never
 * moves one back); the fast reclaimer takes back nothing (no live lease stolen); every task stays
 * running and its holder completes it.
 *
 * Control, first, on a board of its own: the same processes opening the board with
 * `clock: Date.now` (trusting their own clocks) put the heartbeated expiry into the past and steal
 * the honest worker's live lease.
 */
export const skewedClientClock: ConformanceCase = {
  id: 'postgres.skewed-client-clock',
  title:
    "a worker whose clock runs an hour behind heartbeats and a reclaimer an hour ahead calls releaseStaleClaims: no live lease stolen, no expiry moved into the past (the board uses the server's clock)",
  tier: 'concurrency',
  engines: ['postgres'],
  requires: [],
  timeoutMs: 120_000,
  async run(context) {
    const control = await runScenario(context, 'control', true)
    const intoThePast = control.beat.claimExpiresAt! < control.serverAfter
    const stolen = control.released.includes(control.honestId)
    context.note(
      `control (clock: Date.now in both processes): the slow worker's heartbeat set its expiry ${describeOffset(control.beat.claimExpiresAt!, control.serverAfter)} the server's clock ` +
        `and its own claim expires ${describeOffset(control.slowClaim.claimExpiresAt!, control.serverAfter)} it; the fast reclaimer released [${control.released.join(', ')}] ` +
        `(the honest live lease ${stolen ? 'stolen' : 'kept'}); completions afterwards: ${control.completions.join(', ')}`,
    )
    if (!intoThePast) throw new Error('control did not reproduce the hazard: a heartbeat from a clock an hour behind left the expiry in the future')
    if (!stolen) throw new Error('control did not reproduce the hazard: a reclaimer whose clock runs an hour ahead did not steal the live lease')

    const run = await runScenario(context, 'board', false)
    assert.ok(
      run.slowClaim.claimedAt! >= run.serverBefore && run.slowClaim.claimExpiresAt! >= run.serverBefore + LEASE_MS,
      `the slow worker's claim was not timed by the server: claimed at ${run.slowClaim.claimedAt}, expires ${run.slowClaim.claimExpiresAt}, server clock ${run.serverBefore} before it`,
    )
    assert.ok(run.beat.claimExpiresAt! >= run.expiryBeforeBeat, `the slow worker's heartbeat moved the expiry back from ${run.expiryBeforeBeat} to ${run.beat.claimExpiresAt}`)
    assert.ok(run.beat.claimExpiresAt! > run.serverAfter, `the slow worker's heartbeat moved the expiry into the past (${describeOffset(run.beat.claimExpiresAt!, run.serverAfter)} the server's clock)`)
    assert.deepEqual(run.released, [], 'the fast reclaimer took back live leases')
    assert.deepEqual(Object.values(run.statuses), ['running', 'running', 'running'], `tasks left running after the reclaim: ${JSON.stringify(run.statuses)}`)
    assert.deepEqual(run.completions, ['ok', 'ok', 'ok'], 'a holder could not complete its task')
    context.note(
      `server clock: the slow worker's claim expires ${describeOffset(run.slowClaim.claimExpiresAt!, run.serverAfter)} the server's clock and its heartbeat set ${describeOffset(run.beat.claimExpiresAt!, run.serverAfter)} it ` +
        `(its own clock read ${describeOffset(run.slowClaim.clientNow, run.serverBefore)} the server's); the fast reclaimer released nothing; all 3 holders completed their tasks`,
    )
  },
}

/** One run on board `name`: three claims, the slow worker's claim and heartbeat, the fast reclaimer's releaseStaleClaims, then the completions. */
async function runScenario(context: CaseContext, name: string, localClock: boolean): Promise<SkewRun> {
  const spec = postgresSpec(context, name)
  const board = await context.openBoard({ name })
  const probe = await ServerProbe.open(spec)
  const slow = context.spawn('postgres-skewed-clock', { board: spec, skewMs: -HOUR, localClock, workerId: 'slow-worker' })
  const fast = context.spawn('postgres-skewed-clock', { board: spec, skewMs: HOUR, localClock, workerId: 'fast-reclaimer' })
  try {
    const honest = await board.createTask({ title: 'an honest worker holds it', priority: 2 })
    const beaten = await board.createTask({ title: 'the slow worker heartbeats it', priority: 1 })
    await board.createTask({ title: 'the slow worker claims it', priority: 0 })
    const honestClaim = await board.claimNext({ workerId: 'honest', leaseMs: LEASE_MS })
    const handed = await board.claimNext({ workerId: 'slow-worker', leaseMs: LEASE_MS })
    assert.equal(honestClaim?.id, honest.id)
    assert.equal(handed?.id, beaten.id)
    for (const child of [slow, fast]) assert.equal(await child.receive(), 'ready')

    const serverBefore = await probe.serverNow()
    const slowClaim = await ask(slow, { op: 'claim', leaseMs: LEASE_MS })
    assert.ok(slowClaim.ok, `the slow worker could not claim: ${slowClaim.error}`)
    const beat = await ask(slow, { op: 'heartbeat', id: handed!.id, claimToken: handed!.claimToken, leaseMs: LEASE_MS })
    assert.ok(beat.ok, `the slow worker's heartbeat failed: ${beat.error}`)
    const serverAfter = await probe.serverNow()
    const reclaim = await ask(fast, { op: 'reclaim' })
    assert.ok(reclaim.ok, `the fast reclaimer's releaseStaleClaims failed: ${reclaim.error}`)
    const statuses: Record<string, string | undefined> = {}
    for (const id of [honest.id, beaten.id, slowClaim.id!]) statuses[id] = (await board.getTask(id))?.status

    const completions: string[] = []
    for (const [id, claimToken] of [[beaten.id, handed!.claimToken], [slowClaim.id!, slowClaim.claimToken!]] as const) {
      const done = await ask(slow, { op: 'complete', id, claimToken })
      completions.push(done.ok ? 'ok' : done.code!)
    }
    completions.push(
      await board.complete(honest.id, honestClaim!.claimToken, { by: 'honest' }).then(
        () => 'ok',
        (error: { code?: string }) => error.code ?? String(error),
      ),
    )
    for (const child of [slow, fast]) child.send({ op: 'stop' } satisfies SkewedCommand)
    await Promise.all([slow.result, fast.result])
    return {
      serverBefore,
      serverAfter,
      slowClaim,
      expiryBeforeBeat: handed!.claimExpiresAt!,
      beat,
      released: reclaim.released!,
      honestId: honest.id,
      beatId: beaten.id,
      statuses,
      completions,
    }
  } finally {
    await probe.close()
    await board.close()
  }
}

async function ask(child: TaskHandle, command: SkewedCommand): Promise<SkewedAnswer> {
  child.send(command)
  return (await child.receive()) as SkewedAnswer
}

/** `12.3 min after` / `49.9 min before`. */
function describeOffset(at: number, reference: number): string {
  const minutes = (at - reference) / 60_000
  return `${Math.abs(minutes).toFixed(1)} min ${minutes >= 0 ? 'after' : 'before'}`
}

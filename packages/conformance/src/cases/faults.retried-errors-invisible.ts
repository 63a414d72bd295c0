import { strict as assert } from 'node:assert'
import type { ConformanceCase } from '../case.js'
import { acknowledged, assertPlanFired, assertRecovered, failures, inserts, requireStrace, runUnderPlan, seedBoard, summary } from './faults.plan.js'

/**
 * Errors SQLite retries by itself stay invisible: EINTR on -wal writes (SQLite's write loop retries
 * it) and EAGAIN on the -shm lock calls during commits (seen as a busy lock, waited out by
 * busy_timeout). The control: EIO in the same window of the same calls does surface, so the window
 * really covers calls the inserts make.
 */
export const faultsRetriedErrorsInvisible: ConformanceCase = {
  id: 'faults.retried-errors-invisible',
  title: 'EINTR on -wal writes and EAGAIN on -shm locks (strace) are invisible to callers; EIO in the same window (control) is not',
  tier: 'faults',
  requires: ['sharedFile', 'wal'],
  timeoutMs: 180_000,
  async run(context) {
    requireStrace()
    const steps = (prefix: string) => [{ op: 'open' } as const, ...inserts(prefix, 24), { op: 'read-fresh' } as const]
    const window = '7..12'

    const controlPath = context.path('control.db')
    await seedBoard(context, controlPath, 5)
    const control = await runUnderPlan(context, controlPath, { file: `${controlPath}-wal`, faults: [{ syscall: 'pwrite64', error: 'EIO', when: window }] }, steps('c'))
    assertPlanFired(control)
    context.note(`control (EIO, ${control.injected} calls failed): ${summary(control.results)}`)

    const eintrPath = context.path('eintr.db')
    const seed = await seedBoard(context, eintrPath, 5)
    const eintrRun = await runUnderPlan(context, eintrPath, { file: `${eintrPath}-wal`, faults: [{ syscall: 'pwrite64', error: 'EINTR', when: window }] }, steps('i'))
    assertPlanFired(eintrRun, { visible: false })
    const eintr = eintrRun.results
    context.note(`eintr: ${eintrRun.injected} calls failed, invisible`)
    assert.deepEqual(failures(eintr), [], `EINTR surfaced: ${summary(eintr)}`)
    assert.equal(acknowledged(eintr).length, 24)
    await assertRecovered(context, eintrPath, eintr, { code: 'none', sqliteCodePrefix: 'none', seed })

    const eagainPath = context.path('eagain.db')
    const eagainSeed = await seedBoard(context, eagainPath, 5)
    const eagainRun = await runUnderPlan(context, eagainPath, { file: `${eagainPath}-shm`, faults: [{ syscall: 'fcntl', error: 'EAGAIN', when: '80..84' }] }, steps('a'))
    assertPlanFired(eagainRun, { visible: false })
    const eagain = eagainRun.results
    context.note(`eagain: ${eagainRun.injected} calls failed, invisible`)
    assert.deepEqual(failures(eagain), [], `EAGAIN on the -shm locks surfaced: ${summary(eagain)}`)
    assert.equal(acknowledged(eagain).length, 24)
    await assertRecovered(context, eagainPath, eagain, { code: 'none', sqliteCodePrefix: 'none', seed: eagainSeed })
  },
}

import { expect, it } from 'vitest'
import { createAdapter } from '@kanban-db/adapter-better-sqlite3'
import { auditLocks, openBoard } from '@kanban-db/core/internal'
import { doctor, findingsOf, killHard, makeBoard, problems, startHolder, tempDir, until } from './doctor-harness.js'

it('reports a claim whose lease ran out while its worker is dead (claim-stale)', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => void (await board.createTask({ title: 'work' })))
  // The control: before any claim, nothing is stale (a live claim within its lease is the crashed
  // and overrunning tests' control: no claim-stale there).
  const before = await doctor(path)
  expect(findingsOf(before, 'claim-stale')).toEqual([])
  expect(findingsOf(before, 'claims')[0]).toMatchObject({ severity: 'ok', data: { claims: 0 } })
  const worker = await startHolder(path, 'claim:200')
  await killHard(worker)
  let stale
  await until(async () => (stale = findingsOf(await doctor(path), 'claim-stale')[0]) !== undefined)
  expect(stale).toMatchObject({ severity: 'warning', data: { pid: worker.pid, holderAlive: false, workerId: 'holder-worker' } })
  expect(stale!.action).toContain('kanban-db reclaim')
})

it('reports a claim whose worker is gone while its lease still runs (claim-crashed)', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => void (await board.createTask({ title: 'work' })))
  const worker = await startHolder(path, 'claim:600000')
  const live = await doctor(path)
  expect(findingsOf(live, 'claim-crashed')).toEqual([])
  expect(findingsOf(live, 'claim-stale')).toEqual([])
  expect(findingsOf(live, 'claims')[0]).toMatchObject({ severity: 'ok', data: { claims: 1 } })
  await killHard(worker)
  const [crashed] = findingsOf(await doctor(path), 'claim-crashed')
  expect(crashed).toMatchObject({ severity: 'warning', data: { pid: worker.pid, holderAlive: false } })
})

it('reports a claim running past its maxRuntimeMs (claim-overrunning), its worker alive', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => void (await board.createTask({ title: 'work', maxRuntimeMs: 300 })))
  expect(findingsOf(await doctor(path), 'claim-overrunning')).toEqual([]) // the control: nothing runs yet
  const worker = await startHolder(path, 'claim:600000')
  let overrunning
  await until(async () => (overrunning = findingsOf(await doctor(path), 'claim-overrunning')[0]) !== undefined)
  expect(overrunning).toMatchObject({ severity: 'warning', data: { pid: worker.pid, holderAlive: true, maxRuntimeMs: 300 } })
  expect((overrunning!.data as { runningMs: number }).runningMs).toBeGreaterThanOrEqual(300)
})

it('reports ready tasks waiting out a retry backoff (tasks-backing-off)', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => {
    const task = await board.createTask({ title: 'flaky' })
    const control = await doctorWhileOpen(board.path)
    expect(findingsOf(control, 'tasks-backing-off')).toEqual([])
    // Read through this process's own SQLite copy: its board keeps its locks (no H1).
    expect(findingsOf(control, 'journal-mode')[0]!.data).toMatchObject({ readMode: 'this-process' })
    expect(auditLocks({ path: board.path }).missing).toEqual([])
    const claimed = await board.claimNext({ workerId: 'w', leaseMs: 60_000 })
    await board.fail(task.id, claimed!.claimToken, new Error('upstream said 503'), { retryAfterMs: 600_000 })
  })
  const [backoff] = findingsOf(await doctor(path), 'tasks-backing-off')
  expect(backoff).toMatchObject({ severity: 'info' })
  expect(backoff!.detail).toContain('upstream said 503')
})

it('reports writes dated after this host\'s clock (clock-skew)', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => void (await board.createTask({ title: 'on time' })))
  const control = await doctor(path)
  expect(problems(control)).toEqual([])
  expect(findingsOf(control, 'clock')[0]).toMatchObject({ severity: 'ok' })
  // A writer whose clock runs ten minutes ahead.
  const ahead = await openBoard({ path, adapter: await createAdapter(), clock: () => Date.now() + 600_000 })
  await ahead.createTask({ title: 'from the future' })
  await ahead.close()
  const [skew] = findingsOf(await doctor(path), 'clock-skew')
  expect(skew).toMatchObject({ severity: 'warning' })
  expect((skew!.data as { aheadMs: number }).aheadMs).toBeGreaterThan(590_000)
})

/** The doctor on a board this process has open (the live board embeds it this way). */
function doctorWhileOpen(path: string) {
  return doctor(path)
}

import { chownSync, statSync, unlinkSync } from 'node:fs'
import { expect, it } from 'vitest'
import { doctor, findingsOf, makeBoard, problems, startHolder, tempDir } from './doctor-harness.js'

it('reports a -wal deleted under a process that holds it (sidecar-deleted), naming that process', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  const holder = await startHolder(path)
  // The control: the same holder before the unlink is healthy.
  expect(problems(await doctor(path))).toEqual([])

  unlinkSync(`${path}-wal`) // what a cleanup script does (an unlink, not an open)
  const report = await doctor(path)
  const [deleted] = findingsOf(report, 'sidecar-deleted')
  expect(deleted).toMatchObject({ severity: 'error', data: { pid: holder.pid } })
  expect(deleted!.title).toContain('board.db-wal (deleted)')
  expect(deleted!.detail).toContain('doctor-holder.mjs')
  expect(deleted!.action).toContain(`Stop pid ${holder.pid}`)
})

it('reports a process that lost its protective locks by reading the live board with fs (locks-lost)', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  // The control: a holder that never touches the file with fs keeps its locks.
  const healthy = await startHolder(path)
  expect(findingsOf(await doctor(path), 'locks-lost')).toEqual([])
  healthy.kill('SIGKILL')

  const careless = await startHolder(path, 'fs-read')
  const report = await doctor(path)
  const lost = findingsOf(report, 'locks-lost')
  expect(lost).toHaveLength(1)
  expect(lost[0]).toMatchObject({ severity: 'error', data: { pid: careless.pid, missing: ['database-shared'] } }) // readFileSync closed its fd on the database only
  expect(lost[0]!.detail).toContain('doctor-holder.mjs')
})

it('reports sidecars that belong to another user than the board (sidecar-foreign)', async () => {
  if (process.getuid?.() !== 0) return // chown to another user needs root; the finding is then untested here
  const dir = tempDir()
  const path = await makeBoard(dir)
  await startHolder(path)
  expect(findingsOf(await doctor(path), 'sidecar-foreign')).toEqual([])
  chownSync(`${path}-shm`, 65534, 65534) // as if another user's process had created it
  const [foreign] = findingsOf(await doctor(path), 'sidecar-foreign')
  expect(foreign).toMatchObject({ severity: 'warning', data: { boardUid: statSync(path).uid, foreign: [{ file: `${path}-shm`, uid: 65534 }] } })
})

it('reports a process holding the board through two copies of SQLite (sqlite-copies-mixed), before any lock is lost', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  const single = await startHolder(path)
  const control = await doctor(path)
  expect(findingsOf(control, 'sqlite-copies-mixed')).toEqual([])
  expect(findingsOf(control, 'held-open')[0]!.detail).toMatch(/better-sqlite3\/.*\.node/)
  single.kill('SIGKILL')

  const mixed = await startHolder(path, 'two-copies')
  const report = await doctor(path)
  const [copies] = findingsOf(report, 'sqlite-copies-mixed')
  expect(copies).toMatchObject({ severity: 'warning', data: { pid: mixed.pid } })
  expect((copies!.data as { libraries: string[] }).libraries).toHaveLength(2)
  expect(copies!.detail).toContain('another-better_sqlite3.node')
  expect(findingsOf(report, 'locks-lost')).toEqual([]) // nothing closed yet: the doctor warns before the damage
})

import { expect, it } from 'vitest'
import { formatDoctorReport, runDoctor } from '../src/doctor/index.js'
import { directoryState, doctor, findingsOf, makeBoard, problems, startHolder, tempDir } from './doctor-harness.js'

it('finds nothing wrong on a healthy idle board, and writes nothing: no byte, no mtime, no sidecar', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => {
    await board.createTask({ title: 'one' })
  })
  const before = directoryState(dir)
  expect(Object.keys(before)).not.toContain('board.db-wal') // the last close removed the sidecars
  expect(Object.keys(before)).not.toContain('board.db-shm')
  const report = await doctor(path)
  expect(problems(report)).toEqual([])
  expect(report.worst).toBe('ok')
  expect(report.findings.map((finding) => finding.id)).toEqual(
    expect.arrayContaining(['filesystem', 'held-open', 'journal-mode', 'integrity', 'wal-size', 'quarantine', 'schema-version', 'claims', 'clock']),
  )
  expect(findingsOf(report, 'journal-mode')[0]!.data).toMatchObject({ journalMode: 'wal', readMode: 'immutable' })
  expect(directoryState(dir)).toEqual(before)
})

it('names the process holding the board (pid and command line), and leaves its sidecars as they were', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  const control = await doctor(path)
  expect(findingsOf(control, 'held-open')[0]).toMatchObject({ severity: 'ok' })

  const holder = await startHolder(path)
  const before = directoryState(dir)
  expect(Object.keys(before)).toEqual(expect.arrayContaining(['board.db', 'board.db-shm', 'board.db-wal']))
  const report = await doctor(path)
  expect(problems(report)).toEqual([])
  const held = findingsOf(report, 'held-open')[0]!
  expect(held.severity).toBe('info')
  expect(held.detail).toContain(`pid ${holder.pid}: ${process.execPath}`)
  expect(held.detail).toContain('doctor-holder.mjs')
  expect(held.data).toMatchObject({ holders: [expect.objectContaining({ pid: holder.pid, files: expect.arrayContaining([expect.objectContaining({ file: 'shm' })]) })] })
  expect(findingsOf(report, 'journal-mode')[0]!.data).toMatchObject({ readMode: 'shared' })
  expect(directoryState(dir)).toEqual(before)
})

it('formats a report for people, with no escape sequence when colour is off', async () => {
  const dir = tempDir()
  const report = await doctor(await makeBoard(dir))
  const plain = formatDoctorReport(report, { color: false })
  expect(plain).toContain('[journal-mode]')
  expect(plain).not.toMatch(/\u001b/)
  // The control: with colour on, the same report carries escapes.
  expect(formatDoctorReport(report, { color: true })).toMatch(/\u001b\[/)
})

it('stops when its signal is aborted, with the signal\'s reason', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  const controller = new AbortController()
  controller.abort(new Error('operator pressed Ctrl-C'))
  await expect(runDoctor({ engine: 'sqlite', path }, { signal: controller.signal })).rejects.toThrow('operator pressed Ctrl-C')
  // The control: the same call without an aborted signal reports.
  expect((await runDoctor({ engine: 'sqlite', path }, { signal: new AbortController().signal })).findings.length).toBeGreaterThan(0)
})

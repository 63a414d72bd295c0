import { execFileSync } from 'node:child_process'
import { closeSync, copyFileSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createAdapter } from '@kanban-db/adapter-better-sqlite3'
import { openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/internal'
import { doctor, findingsOf, makeBoard, problems, startHolder, tempDir } from './doctor-harness.js'

/** Debian's sqlite3 shell: a foreign client, as an operator would use it. */
const shell = (path: string, sql: string) => execFileSync('sqlite3', [path, sql], { encoding: 'utf8' })

it('reports a board file replaced under a process that holds it (board-file-ghost), as a restore by mv does', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => void (await board.createTask({ title: 'before the restore' })))
  const backup = join(dir, 'backup.db')
  await makeBoard(tempDir()).then((fresh) => copyFileSync(fresh, backup)) // --allow-fs: a closed board nobody has open
  const holder = await startHolder(path)
  // The control: the same holder on the same file is healthy.
  const control = await doctor(path)
  expect(findingsOf(control, 'board-file-ghost')).toEqual([])
  expect(problems(control)).toEqual([])

  renameSync(backup, path) // an operator "restoring" over the live board
  const [ghost] = findingsOf(await doctor(path), 'board-file-ghost')
  // The rename unlinks the old file: the kernel calls it deleted, while another file has its name.
  expect(ghost).toMatchObject({ severity: 'error', data: { pid: holder.pid, deleted: true, replaced: true } })
  expect(ghost!.title).toContain('replaced')
  expect(ghost!.detail).toContain('doctor-holder.mjs')
  expect(ghost!.action).toContain(`Restart pid ${holder.pid}`)
})

it('reports a board file deleted under a process that holds it (board-file-ghost), beside board-missing', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  const holder = await startHolder(path)
  expect(findingsOf(await doctor(path), 'board-file-ghost')).toEqual([]) // the control

  unlinkSync(path) // a cleanup that removes the board while a worker writes to it
  const report = await doctor(path)
  expect(findingsOf(report, 'board-missing')[0]).toMatchObject({ severity: 'error' })
  const [ghost] = findingsOf(report, 'board-file-ghost')
  expect(ghost).toMatchObject({ severity: 'error', data: { pid: holder.pid, deleted: true, replaced: false } })
  expect(ghost!.title).toContain('deleted')
  expect(ghost!.action).toContain(`Stop pid ${holder.pid}`)
})

it('reports a board migrated by a newer kanban-db (schema-newer) and leaves its version as it is', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  expect(findingsOf(await doctor(path), 'schema-version')[0]).toMatchObject({ severity: 'ok' }) // the control
  const newer = LATEST_SCHEMA_VERSION + 1
  shell(path, `PRAGMA user_version = ${newer};`) // what a newer kanban-db's migration leaves: the tables, one version up
  const report = await doctor(path)
  const [found] = findingsOf(report, 'schema-newer')
  expect(found).toMatchObject({ severity: 'error', data: { version: newer, latest: LATEST_SCHEMA_VERSION } })
  expect(found!.action).toMatch(/Upgrade this kanban-db/)
  expect(findingsOf(report, 'schema-version')).toEqual([])
  expect(shell(path, 'PRAGMA user_version;').trim()).toBe(String(newer))
})

it('reports an empty database (board-empty), which is not a problem, and a board is not one', async () => {
  const dir = tempDir()
  expect(findingsOf(await doctor(await makeBoard(dir)), 'board-empty')).toEqual([]) // the control
  const empty = join(dir, 'empty.db')
  shell(empty, 'PRAGMA page_size = 4096; VACUUM;') // a real SQLite file with no table
  expect(statSync(empty).size).toBeGreaterThan(0)
  const report = await doctor(empty)
  expect(findingsOf(report, 'board-empty')[0]).toMatchObject({ severity: 'info', data: { version: 0 } })
  expect(problems(report)).toEqual([]) // its rollback journal mode is SQLite's default for a new file, not a problem
  expect(findingsOf(report, 'journal-mode')[0]).toMatchObject({ severity: 'info', data: { journalMode: 'delete', empty: true } })
  const zero = join(dir, 'zero.db')
  writeFileSync(zero, '') // a file touched into being: SQLite reads it as an empty database
  expect(findingsOf(await doctor(zero), 'board-empty')[0]).toMatchObject({ severity: 'info' })
})

it('reports the copies core keeps of a damaged board (corrupt-copies-kept): a note while damaged, a warning once restored', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => {
    await board.createTasks(Array.from({ length: 120 }, (_, i) => ({ title: `task ${i}`, body: 'b'.repeat(2000) })))
  })
  const good = join(tempDir(), 'good.db')
  copyFileSync(path, good) // --allow-fs: a closed board nobody has open, kept to restore from
  expect(findingsOf(await doctor(path), 'corrupt-copies-kept')).toEqual([]) // the control

  // Garbage over the schema's b-tree on page 1, past the 100-byte file header (nobody has the file open).
  const garbage = Buffer.alloc(4096 - 100)
  for (let i = 0; i < garbage.length; i += 1) garbage[i] = (i * 131 + 7) & 0xff
  const fd = openSync(path, 'r+') // --allow-fs: fault injection into a file nobody has open
  writeSync(fd, garbage, 0, garbage.length, 100)
  closeSync(fd)
  // A process opening the board meets the damage: core refuses it (Corrupt) and keeps a copy beside it.
  await expect(openBoard({ path, adapter: await createAdapter() }).then((board) => board.close())).rejects.toMatchObject({ code: 'CORRUPT' })
  const copies = readdirSync(dir).filter((name) => name.startsWith('board.db.corrupt-') && !name.endsWith('-wal'))
  expect(copies).toHaveLength(1)

  const damaged = await doctor(path)
  expect(findingsOf(damaged, 'not-a-database')[0]).toMatchObject({ severity: 'error' }) // its schema page is what is damaged
  expect(findingsOf(damaged, 'corrupt-copies-kept')[0]).toMatchObject({ severity: 'info', data: { copies } })

  copyFileSync(good, path) // --allow-fs: the restore, with every process stopped
  const restored = await doctor(path)
  const [kept] = findingsOf(restored, 'corrupt-copies-kept')
  expect(kept).toMatchObject({ severity: 'warning', data: { copies } })
  expect(kept!.action).toMatch(/delete the copies/)
  expect(findingsOf(restored, 'integrity-failed')).toEqual([])
})

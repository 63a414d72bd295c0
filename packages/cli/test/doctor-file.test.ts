import { execFileSync } from 'node:child_process'
import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createAdapter } from '@kanban-db/adapter-better-sqlite3'
import { Dispatcher, LATEST_SCHEMA_VERSION, migrations, type SpawnWorker } from '@kanban-db/core/internal'
import { directoryState, doctor, findingsOf, makeBoard, problems, startHolder, tempDir } from './doctor-harness.js'

/** Debian's sqlite3 shell: a foreign client, as an operator would use it. */
const shell = (path: string, sql: string) => execFileSync('sqlite3', [path, sql], { encoding: 'utf8' })

it('reports a missing board and a file SQLite cannot read', async () => {
  const dir = tempDir()
  expect(findingsOf(await doctor(join(dir, 'nope.db')), 'board-missing')).toHaveLength(1)
  const junk = join(dir, 'junk.db')
  writeFileSync(junk, Buffer.alloc(8192, 7))
  const report = await doctor(junk)
  expect(findingsOf(report, 'not-a-database')[0]).toMatchObject({ severity: 'error' })
})

it('reports a SQLite file that is not a board (foreign-database), and never looks at its rows as tasks', async () => {
  const dir = tempDir()
  const control = await doctor(await makeBoard(dir))
  expect(findingsOf(control, 'foreign-database')).toEqual([])
  const foreign = join(dir, 'notes.db')
  shell(foreign, 'CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT); INSERT INTO notes (text) VALUES (\'hello\');')
  const report = await doctor(foreign)
  expect(findingsOf(report, 'foreign-database')[0]).toMatchObject({ severity: 'error', data: { tables: ['notes'] } })
  expect(findingsOf(report, 'claims')).toEqual([])
})

it('reports a board in a rollback journal mode (journal-mode-not-wal), and creates no file reading it', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  expect(findingsOf(await doctor(path), 'journal-mode-not-wal')).toEqual([])
  expect(shell(path, 'PRAGMA journal_mode=DELETE;').trim()).toBe('delete')
  const before = directoryState(dir)
  const report = await doctor(path)
  expect(findingsOf(report, 'journal-mode-not-wal')[0]).toMatchObject({ severity: 'warning', data: { journalMode: 'delete', readMode: 'rollback' } })
  expect(directoryState(dir)).toEqual(before)
})

it('reports a WAL grown past its limit while a process holds the board (wal-over-limit)', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir)
  const control = await doctor(path)
  expect(findingsOf(control, 'wal-size')[0]).toMatchObject({ severity: 'ok' })
  await startHolder(path, 'big-wal') // writes about 11 MB with checkpoints off
  const [over] = findingsOf(await doctor(path), 'wal-over-limit')
  expect(over).toMatchObject({ severity: 'warning', data: { limitBytes: 1000 * 4096 * 2 } })
  expect((over!.data as { walBytes: number }).walBytes).toBeGreaterThan(1000 * 4096 * 2)
  expect((over!.data as { walBytes: number }).walBytes).toBe(statSync(`${path}-wal`).size)
})

it('reports an old schema version (schema-outdated) and leaves the board unmigrated', async () => {
  const dir = tempDir()
  const path = join(dir, 'old.db')
  const adapter = await createAdapter()
  const connection = await adapter.open(path)
  const old = migrations.filter((migration) => migration.version < LATEST_SCHEMA_VERSION)
  for (const migration of old) {
    connection.exec(migration.sql)
    connection.exec(`PRAGMA user_version = ${migration.version}`)
  }
  connection.close()
  const version = old.at(-1)!.version
  const [outdated] = findingsOf(await doctor(path), 'schema-outdated')
  expect(outdated).toMatchObject({ severity: 'warning', data: { version, latest: LATEST_SCHEMA_VERSION } })
  expect(shell(path, 'PRAGMA user_version;').trim()).toBe(String(version))
  // The control: the same steps to the latest version give a current board.
  expect(findingsOf(await doctor(await makeBoard(dir)), 'schema-version')[0]).toMatchObject({ severity: 'ok' })
})

it('reports a damaged page (integrity-failed) and the quarantine a dispatcher puts the board in (board-quarantined)', async () => {
  const dir = tempDir()
  const path = await makeBoard(dir, async (board) => {
    await board.createTasks(Array.from({ length: 120 }, (_, i) => ({ title: `task ${i}`, body: 'b'.repeat(2000) })))
  })
  const healthy = await doctor(path)
  expect(problems(healthy)).toEqual([])
  expect(findingsOf(healthy, 'quarantine')[0]).toMatchObject({ severity: 'ok' })

  // Garbage over a page in the middle of the tasks (nobody has the file open).
  const pageSize = 4096
  const pages = statSync(path).size / pageSize
  const garbage = Buffer.alloc(pageSize)
  for (let i = 0; i < pageSize; i += 1) garbage[i] = (i * 131 + 7) & 0xff
  const fd = openSync(path, 'r+') // --allow-fs: fault injection into a file nobody has open
  writeSync(fd, garbage, 0, pageSize, Math.floor(pages / 2) * pageSize)
  closeSync(fd)

  const dispatcher = new Dispatcher({
    boards: [path],
    adapter: await createAdapter(),
    spawn: (() => {
      throw new Error('no task can be claimed from a damaged board')
    }) as unknown as SpawnWorker,
    checkEveryMs: 1,
  })
  await dispatcher.tick()
  expect(dispatcher.status().boards[0]).toMatchObject({ state: 'quarantined' })
  await dispatcher.stop()

  const report = await doctor(path)
  expect(findingsOf(report, 'integrity-failed')[0]).toMatchObject({ severity: 'error' })
  expect(findingsOf(report, 'board-quarantined')[0]).toMatchObject({ severity: 'error' })
  expect(findingsOf(report, 'quarantine')).toEqual([])
})

import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeGarbageIntoPage } from '../../core/test/corruption/fixtures.js'
import { tempDir } from '../../core/test/temp-dir.js'
import { BOARD_SUBJECTS, cli, cliJson, ok } from './command-harness.js'

const [sqliteSubject, postgresSubject] = BOARD_SUBJECTS as [(typeof BOARD_SUBJECTS)[0], (typeof BOARD_SUBJECTS)[0]]

describe.each(BOARD_SUBJECTS)('kanban-db stats on $name', (subject) => {
  it.skipIf(subject.skip)(`counts tasks per status and the last hour's events${subject.skip ? ` (skip: ${subject.skip})` : ''}`, { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    await ok(['add', board, 'One', '--id', 'one', '--create'])
    await ok(['add', board, 'Two', '--id', 'two'])
    await ok(['block', board, 'two', 'later'])
    const stats = await cliJson(['stats', board])
    expect(stats).toMatchObject({ engine: subject.name, total: 2, lastHour: { created: 2 }, events: { count: 3 } })
    expect(stats.tasks).toMatchObject({ ready: 1, blocked: 1, done: 0 })
    const text = await ok(['stats', board])
    expect(text.stdout).toMatch(/^blocked\s+1$/m)
  })
})

describe('kanban-db check and backup on SQLite', () => {
  it('backs up a live board to a new file that reads back the same, and never overwrites', { timeout: 120_000 }, async () => {
    const dir = tempDir()
    const board = sqliteSubject.fresh(dir)
    await ok(['add', board, 'Keep me', '--id', 'keep', '--create'])
    const copy = join(dir, 'copy.db')
    const done = await cliJson(['backup', board, copy])
    expect(done).toMatchObject({ destination: copy, checked: 'integrity_check' })
    expect((await cliJson(['ls', copy])).tasks.map((task: { id: string }) => task.id)).toEqual(['keep'])

    await ok(['add', board, 'Later', '--id', 'later'])
    const refused = await cli(['backup', board, copy])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('already exists')
    expect((await cliJson(['ls', copy])).tasks.map((task: { id: string }) => task.id)).toEqual(['keep'])
  })

  it('check exits 0 on a sound file and 7 on a damaged one, naming the damage', { timeout: 120_000 }, async () => {
    const dir = tempDir()
    const board = sqliteSubject.fresh(dir)
    await ok(['add', board, 'A task', '--create', '--body', 'x'.repeat(20_000)])
    await ok(['add', board, 'Another', '--body', 'y'.repeat(20_000)])
    const copy = join(dir, 'copy.db')
    await ok(['backup', board, copy])
    // The control: the copy is sound before it is damaged.
    const sound = await cli(['check', copy, '--json'])
    expect(sound.code).toBe(0)
    const facts = JSON.parse(sound.stdout)
    expect(facts).toMatchObject({ ok: true, corrupt: false })
    // The copy is closed (the backup's process exited): garbage into one of its b-tree pages.
    writeGarbageIntoPage(copy, 3, facts.header.pageSize)
    const damaged = await cli(['check', copy, '--json'])
    expect(damaged.code).toBe(7)
    expect(JSON.parse(damaged.stdout)).toMatchObject({ ok: false, corrupt: true })
    const text = await cli(['check', copy, '--integrity'])
    expect(text.code).toBe(7)
    expect(text.stdout).toMatch(/verdict:\s+damaged/)
    expect(text.stdout).toContain('problem:')
    // The live board itself is untouched and sound, also by the offline check.
    expect((await cli(['check', board, '--offline'])).code).toBe(0)
  })
})

describe('kanban-db check and backup on Postgres', () => {
  it.skipIf(postgresSubject.skip)(`backup is refused with exit 5 and the pg_dump to use; check reads the connection and schema${postgresSubject.skip ? ` (skip: ${postgresSubject.skip})` : ''}`, { timeout: 120_000 }, async () => {
    const dir = tempDir()
    const board = postgresSubject.fresh(dir)
    await ok(['add', board, 'A task', '--create'])
    const destination = join(dir, 'copy.db')
    const refused = await cli(['backup', board, destination])
    expect(refused.code).toBe(5)
    expect(refused.stderr).toContain('NOT_SUPPORTED')
    expect(refused.stderr).toContain('pg_dump --schema=')
    expect(existsSync(destination)).toBe(false)
    const checked = await cliJson(['check', board])
    expect(checked).toMatchObject({ ok: true, schemaVersion: expect.any(Number), rows: { tasks: 1 } })
    expect(checked.serverVersion).toMatch(/^\d+/)
  })
})

import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import createSqlJs from '@kanban-db/adapter-sql-js'
import { BoardInUse, openBoard } from '@kanban-db/core'
import { tempDir } from '../temp-dir.js'

describe('an adapter with a private image of the file (sql.js)', () => {
  it('control: two raw connections on one path lose the first one\'s acknowledged write', async () => {
    const path = join(tempDir(), 'board.db')
    const adapter = await createSqlJs()
    const setup = await adapter.open(path)
    setup.exec('create table notes (text text)')
    setup.close()
    const a = await adapter.open(path)
    const b = await adapter.open(path)
    a.exec("insert into notes values ('written through a')")
    b.exec("insert into notes values ('written through b')")
    a.close()
    b.close()
    const check = await adapter.open(path)
    const rows = check.prepare('select text from notes').all([]).map((row) => row.text)
    check.close()
    expect(rows, 'control did not reproduce the hazard').toEqual(['written through b'])
  })

  it('refuses a second board on the same path in this process, and allows it after the first closes', async () => {
    const path = join(tempDir(), 'board.db')
    const adapter = await createSqlJs()
    const first = await openBoard({ path, adapter })
    await first.createTask({ title: 'written through the first board' })
    await expect(openBoard({ path, adapter })).rejects.toBeInstanceOf(BoardInUse)
    await first.close()
    const second = await openBoard({ path, adapter })
    expect((await second.listTasks()).map((task) => task.title)).toEqual(['written through the first board'])
    await second.close()
  })
})

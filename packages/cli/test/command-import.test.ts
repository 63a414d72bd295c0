import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { fileHash } from '../../core/test/corruption/fixtures.js'
import { fixtureRows, fixtureSkip, writePythonBoard } from '../../core/test/import/python-board-fixture.js'
import { tempDir } from '../../core/test/temp-dir.js'
import { BOARD_SUBJECTS, cli, cliJson, ok } from './command-harness.js'

describe.each(BOARD_SUBJECTS)('kanban-db import on $name', (subject) => {
  const skip = subject.skip ?? fixtureSkip
  it.skipIf(skip)(`imports a Python board into a new board with a report, and a second import writes nothing${skip ? ` (skip: ${skip})` : ''}`, { timeout: 120_000 }, async () => {
    const dir = tempDir()
    const source = join(dir, 'kanban.db')
    const rows = writePythonBoard(source, 'wal', fixtureRows(30))
    const before = fileHash(source)
    const board = subject.fresh(dir)

    const first = await cli(['import', source, board, '--json'])
    expect(first.code, first.stderr).toBe(0)
    // stderr is not a terminal here: no progress bar, nothing else either.
    expect(first.stderr).toBe('')
    const report = JSON.parse(first.stdout)
    expect(report.tables.tasks.source).toBe(rows.tasks.length)
    expect(report.written).toBeGreaterThan(0)
    expect(report.limits.failureLimit).toBe(2)
    const imported = Object.values(report.taskIds as Record<string, string>)
    const listed = await cliJson(['ls', board, '--all', '--limit', '10000'])
    expect(listed.tasks.map((task: { id: string }) => task.id).sort()).toEqual([...imported].sort())

    const second = await cliJson(['import', source, board])
    expect(second.written).toBe(0)
    const text = await ok(['import', source, board, '--failure-limit', '2'])
    expect(text.stdout).toContain('(nothing new: already imported)')
    expect(text.stdout).toMatch(/^tasks\s+\d+\s+0\s+\d+/m)
    expect(fileHash(source)).toBe(before)
  })

  it.skipIf(subject.skip)('a missing source is exit 3 and creates no board', { timeout: 120_000 }, async () => {
    const dir = tempDir()
    const board = subject.fresh(dir)
    const result = await cli(['import', join(dir, 'nope.db'), board])
    expect(result.code).toBe(3)
    expect(result.stderr).toContain('No Python board at')
    expect(await subject.exists(board)).toBe(false)
  })
})

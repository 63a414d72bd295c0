import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openBoardTarget, parseBoardTarget } from '../src/board-target.js'
import { writeGarbageIntoPage } from '../../core/test/corruption/fixtures.js'
import { tempDir } from '../../core/test/temp-dir.js'
import { BOARD_SUBJECTS, cli, ok } from './command-harness.js'

interface Finding {
  readonly id: string
  readonly severity: string
}

describe.each(BOARD_SUBJECTS)('kanban-db doctor on $name', (subject) => {
  it.skipIf(subject.skip)(`exits 0 on a healthy board, 6 on a warning (a claim whose lease ran out), 0 again once reclaimed${subject.skip ? ` (skip: ${subject.skip})` : ''}`, { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    await ok(['add', board, 'Work', '--id', 'work', '--create'])
    const healthy = await cli(['doctor', board, '--json'])
    expect(healthy.code, healthy.stdout + healthy.stderr).toBe(0)
    expect((JSON.parse(healthy.stdout).findings as Finding[]).every((finding) => finding.severity === 'ok' || finding.severity === 'info')).toBe(true)

    const opened = await openBoardTarget(parseBoardTarget(board))
    try {
      expect((await opened.board.claimNext({ workerId: 'stuck-worker', leaseMs: 1, host: 'another-host' }))?.id).toBe('work')
    } finally {
      await opened.board.close()
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
    const warned = await cli(['doctor', board, '--json'])
    expect(warned.code, warned.stdout + warned.stderr).toBe(6)
    expect((JSON.parse(warned.stdout).findings as Finding[]).find((finding) => finding.id === 'claim-stale')?.severity).toBe('warning')
    const text = await cli(['doctor', board])
    expect(text.code).toBe(6)
    expect(text.stdout).toContain('work')

    await ok(['reclaim', board, 'work', 'the doctor said so'])
    expect((await cli(['doctor', board])).code).toBe(0)
  })
})

describe('kanban-db doctor on a damaged SQLite file', () => {
  it('exits 7 and names the damage; a missing board is exit 3 and not created', { timeout: 120_000 }, async () => {
    const dir = tempDir()
    const board = join(dir, 'board.db')
    await ok(['add', board, 'A task', '--create', '--body', 'x'.repeat(20_000)])
    await ok(['add', board, 'Another', '--body', 'y'.repeat(20_000)])
    const copy = join(dir, 'copy.db')
    await ok(['backup', board, copy])
    expect((await cli(['doctor', copy])).code).toBe(0)
    writeGarbageIntoPage(copy, 3, 4096)
    const damaged = await cli(['doctor', copy, '--json'])
    expect(damaged.code, damaged.stdout + damaged.stderr).toBe(7)
    expect(JSON.parse(damaged.stdout).findings.some((finding: Finding) => finding.severity === 'error')).toBe(true)

    const missing = await cli(['doctor', join(dir, 'missing.db')])
    expect(missing.code).toBe(3)
    expect((await cli(['ls', join(dir, 'missing.db')])).code).toBe(3)
  })
})

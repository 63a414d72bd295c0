import { describe, expect, it } from 'vitest'
import { openBoardTarget, parseBoardTarget } from '../src/board-target.js'
import { tempDir } from '../../core/test/temp-dir.js'
import { BOARD_SUBJECTS, cli, cliJson, ok } from './command-harness.js'

const ANSI = /\u001b\[/

describe.each(BOARD_SUBJECTS)('kanban-db task commands on $name', (subject) => {
  it.skipIf(subject.skip)(`a missing board is reported (exit 3) and never created, by reads and writes alike${subject.skip ? ` (skip: ${subject.skip})` : ''}`, { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    const commands = [
      ['ls', board],
      ['show', board, 'x'],
      ['events', board],
      ['stats', board],
      ['check', board],
      ['add', board, 'A task'],
      ['block', board, 'x', 'why'],
      ['unblock', board, 'x'],
      ['archive', board, 'x'],
      ['reassign', board, 'x', '--to', 'bob'],
      ['reclaim', board, 'x', 'why'],
    ]
    for (const args of commands) {
      const result = await cli(args)
      expect(result.code, `${args[0]}: ${result.stderr}`).toBe(3)
      expect(result.stderr).toContain('BOARD_NOT_FOUND')
      expect(result.stderr).toMatch(/action:/)
    }
    const json = await cli(['ls', board, '--json'])
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout).error.code).toBe('BOARD_NOT_FOUND')
    expect(await subject.exists(board)).toBe(false)
    // The control: the same board argument with --create does make the board.
    await ok(['add', board, 'A task', '--create'])
    expect(await subject.exists(board)).toBe(true)
  })

  it.skipIf(subject.skip)('add, ls with its filters, and show, as tables and as JSON', { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    const first = await cliJson(['add', board, 'Build the site', '--id', 'build', '--create', '--priority', '5'])
    expect(first).toMatchObject({ id: 'build', status: 'ready', priority: 5 })
    const second = await cli(['add', board, 'Deploy', '--id', 'deploy', '--depends-on', 'build', '--assignee', 'ops', '--body', 'After the build', '--meta', '{"env":"prod"}'])
    expect(second.code).toBe(0)
    expect(second.stdout).toMatch(/^deploy\s+todo\s+Deploy/)

    const all = await cliJson(['ls', board])
    expect(all.tasks.map((task: { id: string }) => task.id).sort()).toEqual(['build', 'deploy'])
    expect((await cliJson(['ls', board, '--status', 'todo'])).tasks.map((task: { id: string }) => task.id)).toEqual(['deploy'])
    expect((await cliJson(['ls', board, '--assignee', 'ops'])).tasks.map((task: { id: string }) => task.id)).toEqual(['deploy'])
    expect((await cliJson(['ls', board, '--limit', '1'])).truncated).toEqual(['todo', 'ready'])
    expect((await cliJson(['ls', board])).counts).toMatchObject({ todo: 1, ready: 1, done: 0 })
    expect((await cli(['ls', board, '--limit', '1'])).stdout).toContain('Showing the oldest 1 of each status')

    const table = await cli(['ls', board])
    expect(table.code).toBe(0)
    expect(table.stdout).toMatch(/^TODO \(1\)$/m)
    expect(table.stdout).toMatch(/^READY \(1\)$/m)
    expect(table.stdout).not.toMatch(ANSI)

    const view = await cliJson(['show', board, 'deploy'])
    expect(view.task).toMatchObject({ id: 'deploy', status: 'todo', body: 'After the build', meta: { env: 'prod' } })
    expect(view.dependsOn).toEqual(['build'])
    expect(view.events.map((event: { kind: string }) => event.kind)).toEqual(['created'])
    expect(view).toHaveProperty('runs')
    expect(view).toHaveProperty('comments')
    expect(view).toHaveProperty('attachments')
    const shown = await cli(['show', board, 'build'])
    expect(shown.stdout).toMatch(/^needed by:\s+deploy$/m)

    const bad = await cli(['ls', board, '--status', 'sleeping'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('INVALID_INPUT')
  })

  it.skipIf(subject.skip)('operators: block, unblock, reassign, reclaim and archive, with their refusals', { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    await ok(['add', board, 'Write the report', '--id', 'report', '--create'])

    const blocked = await cli(['block', board, 'report', 'Waiting for the numbers', '--kind', 'data'])
    expect(blocked.code).toBe(0)
    expect(blocked.stdout).toBe('blocked report: ready -> blocked\n')
    const again = await cli(['block', board, 'report', 'again'])
    expect(again.code).toBe(4)
    expect(again.stderr).toContain('INVALID_TRANSITION')
    expect((await cliJson(['unblock', board, 'report'])).status).toBe('ready')
    expect((await cli(['unblock', board, 'report'])).code).toBe(4)

    const reassigned = await cliJson(['reassign', board, 'report', '--to', 'analyst', '--reason', 'needs the numbers person'])
    expect(reassigned.assignee).toBe('analyst')
    expect((await cliJson(['reassign', board, 'report', '--anyone'])).assignee).toBe(null)
    expect((await cli(['reassign', board, 'report'])).code).toBe(2)

    // A live claim taken by a worker in another process (this test process), then reclaimed by hand.
    const opened = await openBoardTarget(parseBoardTarget(board))
    try {
      const claimed = await opened.board.claimNext({ workerId: 'worker-1', leaseMs: 600_000 })
      expect(claimed?.id).toBe('report')
    } finally {
      await opened.board.close()
    }
    const reclaimed = await cli(['reclaim', board, 'report', 'worker host rebooted'])
    expect(reclaimed.code).toBe(0)
    expect(reclaimed.stdout).toBe('reclaimed report: running -> ready\n')
    const view = await cliJson(['show', board, 'report'])
    expect(view.runs.map((run: { outcome: string }) => run.outcome)).toEqual(['reclaimed'])
    expect((await cli(['reclaim', board, 'report', 'nobody holds it'])).code).toBe(4)

    expect((await cliJson(['archive', board, 'report'])).status).toBe('archived')
    expect((await cliJson(['ls', board])).tasks).toEqual([])
    expect((await cliJson(['ls', board, '--all'])).tasks.map((task: { id: string }) => task.id)).toEqual(['report'])

    const missing = await cli(['show', board, 'nope'])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toContain('TASK_NOT_FOUND')
  })
})

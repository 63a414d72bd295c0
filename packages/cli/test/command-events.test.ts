import { describe, expect, it } from 'vitest'
import { tempDir } from '../../core/test/temp-dir.js'
import { BOARD_SUBJECTS, cli, cliJson, ok, startCli, waitFor } from './command-harness.js'

interface EventJson {
  readonly id: number
  readonly taskId: string
  readonly kind: string
}

function jsonLines(text: string): EventJson[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as EventJson)
}

describe.each(BOARD_SUBJECTS)('kanban-db events on $name', (subject) => {
  it.skipIf(subject.skip)(`lists the newest events, after --since, of one --task${subject.skip ? ` (skip: ${subject.skip})` : ''}`, { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    await ok(['add', board, 'One', '--id', 'one', '--create'])
    await ok(['add', board, 'Two', '--id', 'two'])
    await ok(['block', board, 'one', 'later'])

    const all = (await cliJson(['events', board])).events as EventJson[]
    expect(all.map((event) => `${event.taskId}:${event.kind}`)).toEqual(['one:created', 'two:created', 'one:blocked'])
    expect(((await cliJson(['events', board, '--limit', '1'])).events as EventJson[]).map((event) => event.kind)).toEqual(['blocked'])
    expect(((await cliJson(['events', board, '--since', String(all[0]!.id)])).events as EventJson[]).map((event) => event.id)).toEqual([all[1]!.id, all[2]!.id])
    expect(((await cliJson(['events', board, '--since', '1h'])).events as EventJson[]).length).toBe(3)
    expect(((await cliJson(['events', board, '--task', 'one'])).events as EventJson[]).map((event) => event.kind)).toEqual(['created', 'blocked'])
    const table = await cli(['events', board])
    expect(table.stdout).toMatch(/blocked\s+ready -> blocked/)
    expect((await cli(['events', board, '--since', 'last tuesday'])).code).toBe(2)
  })

  it.skipIf(subject.skip)('--follow prints a task another process creates, as JSON lines, and exits 0 on SIGINT', { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    await ok(['add', board, 'Before', '--id', 'before', '--create'])
    const follower = startCli(['events', board, '--follow', '--json'])
    try {
      await waitFor(() => follower.output.stdout.includes('"before"'), 'the follower to print the existing event', { child: follower })
      await ok(['add', board, 'Made elsewhere', '--id', 'elsewhere'])
      await waitFor(() => follower.output.stdout.includes('"elsewhere"'), 'the follower to print the new task', { child: follower })
      follower.kill('SIGINT')
      const result = await follower.exited
      expect(result.signal).toBe(null)
      expect(result.code).toBe(0)
      expect(jsonLines(result.stdout).map((event) => `${event.taskId}:${event.kind}`)).toEqual(['before:created', 'elsewhere:created'])
    } finally {
      if (follower.exitCode === null) follower.kill('SIGKILL')
    }
  })

  it.skipIf(subject.skip)('--follow as text stops on SIGTERM too', { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    await ok(['add', board, 'Before', '--id', 'before', '--create'])
    const follower = startCli(['events', board, '-f', '--poll', '200ms'])
    try {
      await waitFor(() => follower.output.stderr.includes('Ctrl-C stops'), 'the follower to start', { child: follower })
      await ok(['block', board, 'before', 'waiting'])
      await waitFor(() => /before\s+blocked\s+ready -> blocked/.test(follower.output.stdout), 'the follower to print the block', { child: follower })
      follower.kill('SIGTERM')
      expect((await follower.exited).code).toBe(0)
    } finally {
      if (follower.exitCode === null) follower.kill('SIGKILL')
    }
  })
})

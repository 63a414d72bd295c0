import { describe, expect, it } from 'vitest'
import { tempDir } from '../../core/test/temp-dir.js'
import { BOARD_SUBJECTS, cli, ok, startCli, waitFor } from './command-harness.js'

describe.each(BOARD_SUBJECTS)('kanban-db serve on $name', (subject) => {
  it.skipIf(subject.skip)(`prints where the board is served, serves it, and stops cleanly on SIGINT${subject.skip ? ` (skip: ${subject.skip})` : ''}`, { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    await ok(['add', board, 'Shown in the browser', '--id', 'shown', '--create'])
    const server = startCli(['serve', board, '--json'])
    try {
      await waitFor(() => server.output.stdout.includes('\n'), 'the URL', { child: server })
      const { url, token } = JSON.parse(server.output.stdout.split('\n')[0]!) as { url: string; token: string | null }
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
      expect(token).toBe(null)
      const page = await fetch(url)
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('Shown in the browser')
      server.kill('SIGINT')
      const result = await server.exited
      expect(result.code).toBe(0)
      await expect(fetch(url)).rejects.toThrow()
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL')
    }
  })

  it.skipIf(subject.skip)('with --actions prints the token; a missing board is exit 3', { timeout: 120_000 }, async () => {
    const board = subject.fresh(tempDir())
    expect((await cli(['serve', board])).code).toBe(3)
    await ok(['add', board, 'A task', '--create'])
    const server = startCli(['serve', board, '--actions', '--token', 'a-token-of-twenty-chars'])
    try {
      await waitFor(() => server.output.stdout.includes('Open with the token:'), 'the token', { child: server })
      expect(server.output.stdout).toMatch(/^Live board at (http:\/\/127\.0\.0\.1:\d+\/)\nAction token: a-token-of-twenty-chars\nOpen with the token: \1#token=a-token-of-twenty-chars\n$/)
      server.kill('SIGTERM')
      expect((await server.exited).code).toBe(0)
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL')
    }
  })
})

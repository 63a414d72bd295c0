import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { fixtureSkip, writePythonBoard } from '../../core/test/import/python-board-fixture.js'
import { MAIN } from './command-harness.js'

/**
 * Docs that run: every ```sh example block of this package's README runs in bash (`set -eo
 * pipefail`), in order, in one scratch directory, with `kanban-db` on PATH as the built command.
 * Each `# => line` comment names a line the block must print, in that order.
 */
const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8')
const blocks = [...readme.matchAll(/```sh example\n([\s\S]*?)```/g)].map((match) => match[1]!)

function expectedLines(block: string): string[] {
  return [...block.matchAll(/^# => (.*)$/gm)].map((match) => match[1]!.trimEnd())
}

describe('the README examples of the kanban-db command run', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kanban-db-readme-'))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))
  const bin = join(scratch, '.bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'kanban-db'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} "$@"\n`)
  chmodSync(join(bin, 'kanban-db'), 0o755)

  it('has examples for every command', () => {
    for (const name of ['ls', 'show', 'add', 'block', 'unblock', 'archive', 'reassign', 'reclaim', 'events', 'stats', 'backup', 'check', 'import', 'doctor', 'serve']) {
      expect(readme, name).toMatch(new RegExp(`kanban-db ${name} `))
    }
    expect(blocks.length).toBeGreaterThan(0)
  })

  blocks.forEach((block, index) => {
    const needsPython = block.includes('kanban.db') ? fixtureSkip : undefined
    it.skipIf(needsPython)(`example ${index + 1}${needsPython ? ` (skip: ${needsPython})` : ''}`, { timeout: 120_000 }, () => {
      if (block.includes('kanban.db')) writePythonBoard(join(scratch, 'kanban.db'), 'wal')
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}` }
      delete env['KANBAN_DB_BOARD']
      // spawnSync blocks the event loop, so vitest's timeout could not end a block that hangs: its own can.
      const run = spawnSync('bash', ['-c', `set -eo pipefail\n${block}`], { cwd: scratch, env, encoding: 'utf8', timeout: 110_000, killSignal: 'SIGKILL' })
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0)
      const printed = run.stdout.split('\n').map((line) => line.trimEnd())
      let from = 0
      for (const line of expectedLines(block)) {
        const at = printed.indexOf(line, from)
        expect(at, `"${line}" in order in:\n${run.stdout}`).toBeGreaterThanOrEqual(0)
        from = at + 1
      }
    })
  })
})

import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../src/commands/index.js'
import { tempDir } from '../../core/test/temp-dir.js'
import { cli, cliJson, ok } from './command-harness.js'

describe('kanban-db help, usage errors and the board from the environment', () => {
  it('every command has --help with its usage and examples', { timeout: 120_000 }, async () => {
    for (const command of COMMANDS) {
      const result = await cli([command.name, '--help'])
      expect(result.code, command.name).toBe(0)
      expect(result.stdout).toContain(`Usage: kanban-db ${command.name}`)
      expect(result.stdout).toContain('Examples:')
    }
    const overview = await ok(['--help'])
    for (const command of COMMANDS) expect(overview.stdout).toContain(`  ${command.name} `)
    expect(overview.stdout).toContain('Exit codes:')
    expect((await ok(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })

  it('usage errors exit 2 and say what was wrong', { timeout: 120_000 }, async () => {
    const nothing = await cli([])
    expect(nothing.code).toBe(2)
    expect(nothing.stdout).toContain('Commands:')
    const unknown = await cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Unknown command "frobnicate"')
    const option = await cli(['ls', 'board.db', '--bogus'])
    expect(option.code).toBe(2)
    expect(option.stderr).toContain("Unknown option '--bogus'")
    const missing = await cli(['show', 'board.db'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('Missing <id>')
    const json = await cli(['show', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'INVALID_INPUT' })
    const limit = await cli(['ls', 'board.db', '--limit', 'many'])
    expect(limit.code).toBe(2)
  })

  it('KANBAN_DB_BOARD names the board when the argument is left out', { timeout: 120_000 }, async () => {
    const board = `${tempDir()}/board.db`
    await ok(['add', board, 'From the argument', '--id', 'arg', '--create'])
    const env = { KANBAN_DB_BOARD: board }
    await ok(['add', 'From the environment', '--id', 'env'], { env })
    expect((await cliJson(['ls'], { env })).tasks.map((task: { id: string }) => task.id)).toEqual(['arg', 'env'])
    expect((await cliJson(['show', 'env'], { env })).task.title).toBe('From the environment')
    expect((await cliJson(['reassign', 'env', '--to', 'bob'], { env })).assignee).toBe('bob')
    await ok(['block', 'env', 'a reason of several words'], { env })
    expect((await cli(['ls'])).code).toBe(2)
  })
})

import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { colorWanted, palette } from '../src/output/color.js'
import { startProgress } from '../src/output/progress.js'
import { renderTable } from '../src/output/table.js'
import { tempDir } from '../../core/test/temp-dir.js'
import { MAIN, ok } from './command-harness.js'

function recorder(isTTY: boolean) {
  const writes: string[] = []
  return { isTTY, columns: 100, writes, write: (text: string) => writes.push(text) }
}

describe('progress bars', () => {
  it('draw on a terminal only after the first second, and erase themselves', () => {
    let now = 0
    const stream = recorder(true)
    const progress = startProgress(stream, 'importing', { now: () => now })
    progress.update(10, 100)
    now = 900
    progress.update(50, 100)
    expect(stream.writes).toEqual([])
    now = 1200
    progress.update(60, 100)
    expect(stream.writes.at(-1)).toMatch(/importing \[#+\.+\] 60\/100 1s$/)
    progress.finish()
    expect(stream.writes.at(-1)).toBe('\r\u001b[2K')
  })

  it('draw nothing at all when stderr is not a terminal', () => {
    let now = 0
    const stream = recorder(false)
    const progress = startProgress(stream, 'importing', { now: () => now })
    now = 5000
    progress.update(60, 100)
    progress.finish()
    expect(stream.writes).toEqual([])
  })
})

describe('colours', () => {
  it('only on a terminal, and never with NO_COLOR', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true)
    expect(colorWanted({ isTTY: false }, {})).toBe(false)
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '' })).toBe(true)
    expect(palette(false).red('x')).toBe('x')
  })

  it('a table lines up cells that carry colour codes', () => {
    const color = palette(true)
    const table = renderTable([{ heading: 'STATUS' }, { heading: 'N', align: 'right' }], [[color.red('failed'), '1'], ['ready', '12']])
    expect(table.replace(/\u001b\[[0-9;]*m/g, '').split('\n')).toEqual(['STATUS   N', 'failed   1', 'ready   12'])
  })

  const noScript = spawnSync('script', ['--version']).status === 0 ? undefined : 'no util-linux `script` to give the command a terminal'
  it.skipIf(noScript)(`the built command paints on a real terminal, and not with NO_COLOR${noScript ? ` (skip: ${noScript})` : ''}`, { timeout: 120_000 }, async () => {
    const board = `${tempDir()}/board.db`
    await ok(['add', board, 'Blocked one', '--id', 'b', '--create'])
    await ok(['block', board, 'b', 'waiting'])
    const onTerminal = (env: NodeJS.ProcessEnv) =>
      spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} ls ${JSON.stringify(board)}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, ...env } }).stdout
    const painted = onTerminal({})
    expect(painted).toContain('\u001b[31mBLOCKED\u001b[39m')
    const plain = onTerminal({ NO_COLOR: '1' })
    expect(plain).toContain('BLOCKED (1)')
    expect(plain).not.toMatch(/\u001b\[/)
  })
})

import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { ConformanceReport } from '@kanban-db/conformance'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = join(root, 'packages/conformance/dist/cli.js')

describe('kanban-conformance CLI', () => {
  it('prints a matrix and writes the JSON report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kanban-cli-'))
    try {
      const json = join(dir, 'report.json')
      const { stdout } = await run(process.execPath, [cli, '--adapters', '@kanban-db/adapter-sql-js', '--only', 'core.file-roundtrip', '--json', json], { cwd: root })
      expect(stdout).toMatch(/core\.file-roundtrip\s+core\s+pass/)
      const report = JSON.parse(readFileSync(json, 'utf8')) as ConformanceReport
      expect(report).toMatchObject({ passed: true, node: process.version })
      expect(report.adapters[0]).toMatchObject({
        name: 'sql.js',
        moduleName: '@kanban-db/adapter-sql-js',
        results: [{ id: 'core.file-roundtrip', tier: 'core', status: 'pass' }],
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('explains its usage and exits 2 without --adapters', async () => {
    await expect(run(process.execPath, [cli], { cwd: root })).rejects.toMatchObject({ code: 2 })
  })

  it('exits 2 on an unknown case id or tier, naming it', async () => {
    await expect(run(process.execPath, [cli, '--adapters', 'x', '--only', 'no.such-case'], { cwd: root })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("No case 'no.such-case'"),
    })
    await expect(run(process.execPath, [cli, '--adapters', 'x', '--tiers', 'core,nope'], { cwd: root })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("Unknown tier 'nope'"),
    })
  })

  it('fails every case of an adapter that does not load, with the reason, and exits 1', async () => {
    const failure = await run(process.execPath, [cli, '--adapters', 'no-such-adapter-module', '--only', 'core.file-roundtrip'], { cwd: root }).catch(
      (error: { code: number; stdout: string }) => error,
    )
    expect(failure).toMatchObject({ code: 1 })
    expect((failure as { stdout: string }).stdout).toMatch(/FAIL no-such-adapter-module core\.file-roundtrip: the adapter did not load/)
  })

  it('gives the Postgres engine a column: without a server every case skips with the reason', async () => {
    const env = { ...process.env, KANBAN_DB_POSTGRES_URL: '' }
    const { stdout } = await run(
      process.execPath,
      [cli, '--adapters', '@kanban-db/adapter-sql-js,@kanban-db/adapter-postgres', '--only', 'core.board-lifecycle', '--only', 'core.file-roundtrip'],
      { cwd: root, env },
    )
    expect(stdout.split('\n')[0]).toMatch(/sql\.js \(SQLite [\d.]+\)\s+postgres \(PostgreSQL, no server\)$/)
    expect(stdout).toMatch(/core\.board-lifecycle\s+core\s+pass\s+skip/)
    expect(stdout).toContain('skip postgres core.board-lifecycle: no PostgreSQL server: set KANBAN_DB_POSTGRES_URL (./dev conformance starts a throwaway one)')
    expect(stdout).toContain('skip postgres core.file-roundtrip: no PostgreSQL server')
  })

  it('takes the server from --postgres-url, and fails every case of a server that does not answer, saying so', async () => {
    const failure = await run(
      process.execPath,
      [cli, '--adapters', '@kanban-db/adapter-postgres', '--postgres-url', 'postgresql://nobody@localhost/none?host=/nonexistent-kanban-socket-dir', '--only', 'core.board-lifecycle'],
      { cwd: root, env: { ...process.env, KANBAN_DB_POSTGRES_URL: '' } },
    ).catch((error: { code: number; stdout: string }) => error)
    expect(failure).toMatchObject({ code: 1 })
    expect((failure as { stdout: string }).stdout).toMatch(/FAIL postgres core\.board-lifecycle: the PostgreSQL server did not answer/)
  })

  it('--skip leaves cases out as skipped by request, in the matrix and its reasons; --only takes comma lists', async () => {
    const { stdout } = await run(
      process.execPath,
      [cli, '--adapters', '@kanban-db/adapter-sql-js', '--only', 'core.file-roundtrip,core.board-lifecycle', '--skip', 'core.board-lifecycle'],
      { cwd: root },
    )
    expect(stdout).toMatch(/core\.file-roundtrip\s+core\s+pass/)
    expect(stdout).toMatch(/core\.board-lifecycle\s+core\s+skip/)
    expect(stdout).toContain('skip sql.js core.board-lifecycle: skipped by request (--skip)')
    await expect(run(process.execPath, [cli, '--adapters', 'x', '--skip', 'no.such-case'], { cwd: root })).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("No case 'no.such-case'"),
    })
  })

  it('lists every case with its tier', async () => {
    const { stdout } = await run(process.execPath, [cli, '--list'], { cwd: root })
    expect(stdout).toMatch(/core\.file-roundtrip\s+core\s+/)
  })
})

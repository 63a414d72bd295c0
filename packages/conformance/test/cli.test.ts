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
      expect(stdout).toMatch(/core\.file-roundtrip\s+pass/)
      const report = JSON.parse(readFileSync(json, 'utf8')) as ConformanceReport
      expect(report.adapters[0]).toMatchObject({ name: 'sql.js', results: [{ id: 'core.file-roundtrip', status: 'pass' }] })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('explains its usage and exits 2 without --adapters', async () => {
    await expect(run(process.execPath, [cli], { cwd: root })).rejects.toMatchObject({ code: 2 })
  })
})

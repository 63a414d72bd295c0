import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { DESCRIPTOR_GUARD_ENV, descriptorsUnder, runCase, type ConformanceCase, type ConformanceReport } from '@kanban-db/conformance'

// Issue 18 item 9: an adapter that leaks descriptors must fail the case that leaked, alone, and the
// CLI must still print the matrix and write the JSON report when the process runs out of them.

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../../', import.meta.url))
const cli = join(root, 'packages/conformance/dist/cli.js')
const leakyAdapter = fileURLToPath(new URL('./fixtures/leaky-adapter.mjs', import.meta.url))
const scratch = mkdtempSync(join(tmpdir(), 'kanban-fd-leaks-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** The leaking case (10,000 open/close cycles) between cases that open a board a few times. */
const CASES = [
  'core.file-roundtrip',
  'concurrency.open-close-fd',
  'hazard.transient-ioerr-never-downgrades',
  'hazard.locking-protocol-fallback',
  'corruption.foreign-file-unchanged',
]
const AFTER_THE_LEAK = CASES.slice(2)

interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly report: ConformanceReport | undefined
}

/**
 * The CLI in a child process with 256 descriptors at most, so a leak reaches EMFILE within a case.
 * Its case directories go under `scratch` (TMPDIR): the runner keeps a leaking case's directory,
 * and a run that stops on an uncaught error leaves the running case's.
 */
async function conformance(adapter: string, name: string, env: Record<string, string> = {}, cases = CASES): Promise<CliRun> {
  const json = join(scratch, `${name}.json`)
  const args = ['--nofile=256', process.execPath, cli, '--adapters', adapter, '--only', cases.join(','), '--json', json]
  const outcome = await run('prlimit', args, { cwd: root, env: { ...process.env, TMPDIR: scratch, ...env }, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  )
  const report = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as ConformanceReport) : undefined
  return { ...outcome, report }
}

function statuses(report: ConformanceReport | undefined): Record<string, string> {
  return Object.fromEntries((report?.adapters[0]?.results ?? []).map((result) => [result.id, result.status]))
}

function detail(report: ConformanceReport | undefined, id: string): string {
  return report?.adapters[0]?.results.find((result) => result.id === id)?.detail ?? ''
}

describe('an adapter that leaks descriptors', { timeout: 60_000 }, () => {
  it('control: without the guard the leak runs the process out of descriptors and every later case fails', async () => {
    const control = await conformance(leakyAdapter, 'control', { [DESCRIPTOR_GUARD_ENV]: 'off' })
    expect(control.code).toBe(1)
    expect(statuses(control.report)['concurrency.open-close-fd']).toBe('fail')
    for (const id of AFTER_THE_LEAK) {
      expect(statuses(control.report)[id], id).toBe('fail')
      expect(detail(control.report, id), id).toMatch(/SQLITE_CANTOPEN|EMFILE/)
    }
    expect(control.stdout).not.toContain('descriptors open after close()')
  })

  it('fails the leaking case alone, naming the files, and the cases after it run as if it had not leaked', async () => {
    const guarded = await conformance(leakyAdapter, 'guarded')
    expect(guarded.code).toBe(1)
    expect(guarded.stdout).toMatch(/concurrency\.open-close-fd\s+concurrency\s+FAIL/)
    expect(statuses(guarded.report)).toEqual(Object.fromEntries(CASES.map((id) => [id, id === 'concurrency.open-close-fd' ? 'fail' : 'pass'])))
    expect(detail(guarded.report, 'concurrency.open-close-fd')).toMatch(
      /^the adapter left \d+ descriptors open after close\(\): .*board\.db \(\d+\).* in \/.*\/kanban-conformance-concurrency\.open-close-fd-\S+; the runner closed \d+ of them so later cases can run, and kept the directory/,
    )
    expect(guarded.report?.passed).toBe(false)
  })

  it('an uncaught EMFILE still ends with the matrix, the JSON report and exit code 1 (control: without the guard the CLI dies with neither)', async () => {
    const control = await conformance(leakyAdapter, 'uncaught-control', { LEAKY_ADAPTER_UNCAUGHT: '1', [DESCRIPTOR_GUARD_ENV]: 'off' })
    expect(control.code).not.toBe(0)
    expect(control.stderr).toContain('EMFILE')
    expect(control.stdout).not.toContain('Reasons:')
    expect(control.report).toBeUndefined()

    const guarded = await conformance(leakyAdapter, 'uncaught', { LEAKY_ADAPTER_UNCAUGHT: '1' })
    expect(guarded.code).toBe(1)
    expect(guarded.stdout).toContain('Reasons:')
    expect(guarded.stdout).toMatch(/the runner stopped on an uncaught error: .*EMFILE/)
    expect(guarded.report?.passed).toBe(false)
    const results = guarded.report?.adapters[0]?.results ?? []
    expect(results.map((result) => result.id).sort()).toEqual([...CASES].sort())
    expect(statuses(guarded.report)['core.file-roundtrip']).toBe('pass')
    expect(detail(guarded.report, 'concurrency.open-close-fd')).toMatch(/^failed while running: the runner stopped on an uncaught error: .*EMFILE/)
    for (const id of AFTER_THE_LEAK) expect(detail(guarded.report, id), id).toMatch(/^not run: the runner stopped on an uncaught error/)
  })

  it('a well-behaved adapter runs the other cases under the same limit with no leak reported', async () => {
    // Without concurrency.open-close-fd: 10,000 honest cycles take 20 s or more on a loaded machine.
    const cases = CASES.filter((id) => id !== 'concurrency.open-close-fd')
    const clean = await conformance('@kanban-db/adapter-better-sqlite3', 'clean', {}, cases)
    expect(clean.stdout).not.toContain('descriptors open after close()')
    expect(statuses(clean.report)).toEqual(Object.fromEntries(cases.map((id) => [id, 'pass'])))
    expect(clean.code).toBe(0)
  })
})

describe('the runner in process (the vitest front-end)', () => {
  it('fails a case that leaves descriptors on its board and closes them, so the next case starts clean', async () => {
    const { default: createLeakyAdapter } = (await import(leakyAdapter)) as { default: () => Promise<import('@kanban-db/core/adapter').SqliteAdapter> }
    const adapter = await createLeakyAdapter()
    let leakingDir = ''
    const leaking: ConformanceCase = {
      id: 'framework.leaking-case', title: 'opens and closes its board 60 times', tier: 'core', requires: [], timeoutMs: 50_000,
      async run(context) {
        leakingDir = context.dir
        for (let cycle = 0; cycle < 60; cycle += 1) await (await context.openBoard()).close()
        context.note(`before the runner's check: ${descriptorsUnder(context.dir).length} descriptors on the case's files`)
      },
    }
    const plain: ConformanceCase = {
      id: 'framework.plain-case', title: 'opens its board once', tier: 'core', requires: [], timeoutMs: 50_000,
      async run(context) {
        const board = await context.openBoard()
        await board.createTask({ title: 'one' })
        await board.close()
      },
    }
    const first = await runCase(leaking, adapter, leakyAdapter, { resolveFrom: root })
    expect(first.status).toBe('fail')
    expect(first.detail).toMatch(/^the adapter left \d+ descriptors open after close\(\): .*board\.db \(\d+\)/)
    expect(first.notes[0]).toMatch(/before the runner's check: [1-9]\d* descriptors/)
    expect(descriptorsUnder(leakingDir)).toEqual([])
    expect(existsSync(leakingDir)).toBe(true)
    const second = await runCase(plain, adapter, leakyAdapter, { resolveFrom: root })
    expect(second).toMatchObject({ status: 'pass', detail: '' })
    // This test file's process ends next, so the kept directory's inodes can be freed now.
    rmSync(leakingDir, { recursive: true, force: true })
  }, 60_000)
})

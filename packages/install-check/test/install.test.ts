import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/**
 * kanban-db as a user gets it: every public package packed with pnpm (which turns `workspace:`
 * ranges into real ones), the tarballs installed into a fresh app with plain npm (third-party
 * packages from the npm registry), then run and type-checked there, outside the monorepo. The app's
 * files are in ../app. Needs the packages built (`./dev test` builds first) and the npm registry;
 * without the registry every test here skips and says why.
 */

const packagesDir = join(import.meta.dirname, '..', '..')
const fixtureApp = join(import.meta.dirname, '..', 'app')
const PUBLIC_PACKAGES = ['core', 'adapter-better-sqlite3', 'adapter-node-sqlite', 'adapter-sql-js', 'adapter-postgres', 'conformance', 'cli']
/** Third-party packages the app installs beside the tarballs, at the versions the monorepo uses. */
const APP_TOOLS = ['typescript@6.0.3', '@types/node@24.19.2', '@electric-sql/pglite@0.6.1']

/**
 * The environment for npm and pnpm: without what `pnpm run test` sets for its own script (the
 * package's fields, the lifecycle, pnpm's user agent and paths), which would make the inner npm act
 * as if run by pnpm; the caller's own npm settings (a registry, a cache) are kept.
 */
const SCRIPT_VARIABLES = /^(npm_package_|npm_lifecycle_|npm_config_user_agent$|npm_config_node_gyp$|npm_node_execpath$|npm_execpath$|npm_command$|pnpm_config_|PNPM_SCRIPT_SRC_DIR$)/
const toolEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SCRIPT_VARIABLES.test(name)))
toolEnv.npm_config_update_notifier = 'false'

function run(command: string, args: readonly string[], cwd: string, timeoutMs = 240_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env: toolEnv, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 })
}

function output(result: SpawnSyncReturns<string>): string {
  return `exit ${result.status} signal ${result.signal}${result.error ? ` (${result.error.message})` : ''}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
}

/** Why the registry cannot be used, or undefined when it answers. */
function registryUnreachable(): string | undefined {
  const probe = run('npm', ['view', 'kysely@0.29.9', 'version'], tmpdir(), 30_000)
  if (probe.status === 0 && probe.stdout.trim() === '0.29.9') return undefined
  return `the npm registry did not answer \`npm view kysely@0.29.9 version\` (${probe.error?.message ?? (probe.stderr.trim().split('\n')[0] || `exit ${probe.status}`)})`
}

/** A Node.js older than the packages support (the machine's system Node 20), or why there is none. */
function oldNode(): { path: string; version: string } | string {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    const probe = spawnSync(path, ['--version'], { encoding: 'utf8' })
    const version = probe.stdout?.trim().replace(/^v/, '')
    if (probe.status === 0 && version && Number(version.split('.')[0]) < 22) return { path, version }
  }
  return 'no Node.js older than 22 at /usr/bin/node or /usr/local/bin/node'
}

/** The README files of the repository and of each package. */
function readmes(): { name: string; text: string }[] {
  const root = join(packagesDir, '..')
  const files = [join(root, 'README.md'), ...readdirSync(packagesDir).map((name) => join(packagesDir, name, 'README.md'))]
  return files.filter((file) => existsSync(file)).map((file) => ({ name: relative(root, file), text: readFileSync(file, 'utf8') }))
}

/** The code blocks of one kind (```ts example, ```js commonjs) in every README, each with a file-safe name. */
function readmeBlocks(tag: string): { name: string; code: string }[] {
  return readmes().flatMap(({ name, text }) =>
    [...text.matchAll(new RegExp('```' + tag + '\\n([\\s\\S]*?)```', 'g'))].map((match, index) => ({
      name: `${name.replace(/[^a-z0-9]+/gi, '-')}-${index + 1}`,
      code: match[1]!,
    })),
  )
}

/** What the `console.log(...) // expected` comments of an example say it prints, in order. */
function expectedLines(code: string): string[] {
  return [...code.matchAll(/console\.log\(.*\)\s*\/\/ (.*)$/gm)].map((match) => match[1]!.trim())
}

const unreachable = registryUnreachable()
if (unreachable) console.warn(`install-check: skipped: ${unreachable}`)

describe.skipIf(unreachable !== undefined)('the packed packages, installed with npm into a fresh app', () => {
  let work: string
  let app: string
  const node24 = process.execPath

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'kanban-install-check-'))
    const tarballs = join(work, 'tarballs')
    mkdirSync(tarballs)
    for (const name of PUBLIC_PACKAGES) {
      const packed = run('pnpm', ['pack', '--pack-destination', tarballs], join(packagesDir, name))
      if (packed.status !== 0) throw new Error(`pnpm pack of packages/${name} failed (is it built? ./dev build):\n${output(packed)}`)
    }
    app = join(work, 'app')
    cpSync(fixtureApp, app, { recursive: true })
    const files = readdirSync(tarballs).map((file) => join(tarballs, file))
    const installed = run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files, ...APP_TOOLS], app)
    if (installed.status !== 0) throw new Error(`npm install of the tarballs failed:\n${output(installed)}`)
  }, 300_000)

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('the tarballs carry caret ranges, core as a peer, and the LICENSE', () => {
    for (const name of PUBLIC_PACKAGES) {
      const dir = join(app, 'node_modules', '@kanban-db', name)
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
      const ranges = { ...manifest.dependencies, ...manifest.peerDependencies }
      for (const [dependency, range] of Object.entries(ranges)) expect(range, `${name} -> ${dependency}`).not.toMatch(/^workspace:/)
      if (name !== 'core') expect(manifest.peerDependencies?.['@kanban-db/core'], name).toBe('^0.1.0')
      expect(manifest.dependencies?.['@kanban-db/core'], name).toBeUndefined()
      expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toContain('MIT License')
    }
  })

  it('an ESM program runs each SQLite adapter on Node 24', () => {
    const result = run(node24, ['esm.mjs'], app)
    expect(result.status, output(result)).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      statuses: { 'better-sqlite3': 'done', 'node:sqlite': 'done', 'sql.js': 'done' },
      errorsAreNamed: 'UNSUPPORTED_RUNTIME',
      postgres: true,
    })
  })

  it('a CommonJS program runs each SQLite adapter through require() on Node 24', () => {
    const result = run(node24, ['cjs.cjs'], app)
    expect(result.status, output(result)).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual({
      statuses: { 'better-sqlite3': 'done', 'node:sqlite': 'done', 'sql.js': 'done' },
      betterSqlite3Exports: ['capabilities', 'createAdapter', 'default'],
      nodeSqliteExports: ['capabilities', 'createAdapter', 'default'],
      postgres: true,
    })
  })

  it.each(['node16', 'nodenext', 'bundler'])('tsc --strict type-checks the examples and the packages\' declarations (%s resolution)', (resolution) => {
    // skipLibCheck is off: the packages' own .d.ts files are checked too, with only the app's dependencies.
    const result = run(node24, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', `tsconfig.${resolution}.json`], app)
    expect(result.status, output(result)).toBe(0)
  })

  it('every README\'s TypeScript examples type-check with --strict against the installed packages', () => {
    const blocks = readmeBlocks('ts example')
    expect(blocks.length).toBeGreaterThan(0)
    const dir = join(app, 'readme')
    mkdirSync(dir, { recursive: true })
    for (const block of blocks) writeFileSync(join(dir, `${block.name}.mts`), block.code)
    writeFileSync(join(app, 'tsconfig.readme.json'), JSON.stringify({
      extends: './tsconfig.nodenext.json',
      compilerOptions: { noUnusedLocals: false },
      files: blocks.map((block) => `readme/${block.name}.mts`),
    }))
    const result = run(node24, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.readme.json'], app)
    expect(result.status, output(result)).toBe(0)
  })

  it('every README\'s CommonJS examples run with require() on Node 24 and print what they say', () => {
    const blocks = readmeBlocks('js commonjs')
    expect(blocks.length).toBeGreaterThan(0)
    for (const block of blocks) {
      const file = join(app, `${block.name}.cjs`)
      writeFileSync(file, block.code)
      const result = run(node24, [file], app)
      expect(result.status, `${block.name}: ${output(result)}`).toBe(0)
      expect(result.stdout.trim().split('\n'), block.name).toEqual(expectedLines(block.code))
    }
  })

  describe('on an older Node.js (Node 20)', () => {
    const old = oldNode()

    it.skipIf(typeof old === 'string')('control: better-sqlite3 13 used directly crashes the process with a signal', () => {
      if (typeof old === 'string') return
      const result = run(old.path, ['node20-driver-control.cjs'], app)
      expect(result.signal, `control did not reproduce the crash the guard prevents:\n${output(result)}`).not.toBeNull()
    })

    it.skipIf(typeof old === 'string')('@kanban-db/adapter-better-sqlite3 refuses with UnsupportedRuntime before the driver is touched', () => {
      if (typeof old === 'string') return
      const result = run(old.path, ['node20-better-sqlite3.mjs'], app)
      expect(result.signal, output(result)).toBeNull()
      expect(result.status, output(result)).toBe(1)
      expect(result.stderr).toContain('UnsupportedRuntime')
      expect(result.stderr).toContain("code: 'UNSUPPORTED_RUNTIME'")
      expect(result.stderr).toContain(`this is Node.js ${old.version}`)
      expect(result.stderr).toContain('Run on Node.js 22.13 or newer')
    })

    it.skipIf(typeof old === 'string').each([
      ['adapter-node-sqlite', 'node20-node-sqlite.cjs'],
      ['adapter-sql-js', 'node20-sql-js.mjs'],
    ])('@kanban-db/%s refuses with UnsupportedRuntime, advising no adapter that crashes', (_name, script) => {
      if (typeof old === 'string') return
      const result = run(old.path, [script], app)
      expect(result.signal, output(result)).toBeNull()
      expect(result.status, output(result)).toBe(1)
      expect(result.stderr).toContain('UnsupportedRuntime')
      expect(result.stderr).toContain(`this is Node.js ${old.version}`)
      expect(result.stderr).not.toMatch(/use @kanban-db\/adapter-better-sqlite3/i)
    })

    if (typeof old === 'string') it.skip(`(skipped: ${old})`, () => {})
  })

  it.each([
    ['from the app, by path', '.', './my-adapter'],
    ["from the adapter's own folder, by its name (its exports map)", 'my-adapter', 'my-adapter'],
  ])('an adapter authored outside the monorepo passes conformance cases through kanban-conformance, run %s', (_how, folder, subject) => {
    const cwd = join(app, folder)
    const cli = join(app, 'node_modules', '@kanban-db', 'conformance', 'dist', 'cli.js')
    const report = join(work, `conformance-${folder.replace(/\W/g, '')}.json`)
    const cases = ['core.capability-manifest', 'core.file-roundtrip', 'core.board-lifecycle']
    const result = run(node24, [cli, '--adapters', subject, ...cases.flatMap((id) => ['--only', id]), '--json', report], cwd)
    expect(result.status, output(result)).toBe(0)
    const { adapters } = JSON.parse(readFileSync(report, 'utf8')) as { adapters: { name: string; results: { id: string; status: string }[] }[] }
    expect(adapters.map((adapter) => adapter.name)).toEqual(['my-adapter'])
    expect(adapters[0]!.results.map((result) => [result.id, result.status]).sort()).toEqual(cases.map((id) => [id, 'pass']).sort())
  })
})

import { execFile } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

/**
 * Docs that run: every ```ts example block in the READMEs is executed against the built packages,
 * and each `console.log(...) // expected` comment must match the line it printed.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url))
const run = promisify(execFile)
// Inside the repository so `@kanban-db/*` resolve from its node_modules; not under node_modules,
// where Node refuses to strip types.
const scratch = join(root, '.tools', 'readme-examples')

function readmes(): string[] {
  const packageReadmes = readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name, 'README.md'))
    .filter((path) => existsSync(path))
  return [join(root, 'README.md'), ...packageReadmes]
}

function examples(readme: string): string[] {
  const text = readFileSync(readme, 'utf8')
  return [...text.matchAll(/```ts example\n([\s\S]*?)```/g)].map((match) => match[1]!)
}

function expectedLines(code: string): string[] {
  return [...code.matchAll(/console\.log\(.*\)\s*\/\/ (.*)$/gm)].map((match) => match[1]!.trim())
}

describe('README examples run', () => {
  mkdirSync(scratch, { recursive: true })
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))
  for (const readme of readmes()) {
    examples(readme).forEach((code, index) => {
      const name = `${readme.slice(root.length)} example ${index + 1}`
      // An example that talks to a PostgreSQL server runs where the tests have one (./dev test starts it).
      const needsServer = code.includes('KANBAN_DB_POSTGRES_URL') && !process.env['KANBAN_DB_POSTGRES_URL']
      it.skipIf(needsServer)(needsServer ? `${name} (skip: no PostgreSQL server, KANBAN_DB_POSTGRES_URL is unset)` : name, async () => {
        const file = join(scratch, `${name.replace(/[^a-z0-9]+/gi, '-')}.mts`)
        writeFileSync(file, code)
        const { stdout } = await run(process.execPath, ['--disable-warning=ExperimentalWarning', file], { cwd: root })
        expect(stdout.trim().split('\n')).toEqual(expectedLines(code))
      })
    })
  }
})

import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// Runs in a child process so the package resolves as an application sees it: through `exports`,
// to the built dist/ (rebuild core with `npx tsup` before running this file).
const packageDir = fileURLToPath(new URL('..', import.meta.url))

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8' }).trim()
}

const check = `
  const busy = new internal.Busy('x')
  const classified = adapter.classifySqliteError(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), 'x')
  console.log(JSON.stringify([
    busy instanceof root.KanbanDbError, busy instanceof root.Busy, classified instanceof root.Busy,
    adapter.WakeListeners === internal.WakeListeners, root.openBoard === internal.openBoard,
    'parseProcLocks' in root, 'migrate' in root, 'WriteQueue' in root, 'sqlPragmaHooks' in root,
    'parseProcLocks' in internal, 'sqlPragmaHooks' in adapter,
  ]))`
const expected = [true, true, true, true, true, false, false, false, false, true, true]

describe('the package subpaths (root, /adapter, /internal) share one copy of core', () => {
  it('under require: an error from one subpath is an instance of the other\'s class', () => {
    const script = `const root = require('@kanban-db/core'), adapter = require('@kanban-db/core/adapter'), internal = require('@kanban-db/core/internal');${check}`
    expect(JSON.parse(run(['-e', script]))).toEqual(expected)
  })

  it('under import: the same', () => {
    const script = `const root = await import('@kanban-db/core'), adapter = await import('@kanban-db/core/adapter'), internal = await import('@kanban-db/core/internal');${check}`
    expect(JSON.parse(run(['--input-type=module', '-e', script]))).toEqual(expected)
  })
})

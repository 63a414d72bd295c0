import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { SqliteAdapter } from './sqlite-adapter.js'
import { InvalidInput } from '../errors/errors.js'
import { registerErrorDecoder } from '../errors/sqlite-codes.js'

/**
 * Loads an adapter by module name (for example `@kanban-db/adapter-node-sqlite`) and calls its
 * default factory. Child processes and worker threads use it so they need nothing but the name.
 * `from` is the directory module resolution starts from (default: the current directory).
 */
export async function loadAdapter(moduleName: string, from: string = process.cwd()): Promise<SqliteAdapter> {
  const loaded = await importModule(moduleName, from)
  const factory = pickFactory(loaded)
  if (!factory) {
    throw new InvalidInput(
      `Module '${moduleName}' has no adapter factory: its default export must be a function returning Promise<SqliteAdapter>.`,
    )
  }
  const adapter = await factory()
  registerErrorDecoder(adapter.identity.name, adapter.decodeError?.bind(adapter))
  return adapter
}

/**
 * Imports `moduleName` as seen from the directory `from` (default: the current directory), preferring
 * its ESM entry so the module shares this process's ESM copy of `@kanban-db/core`: how `loadAdapter`
 * loads an adapter and the conformance suite an engine package, by name alone.
 */
export async function importModule(moduleName: string, from: string = process.cwd()): Promise<Record<string, unknown>> {
  return (await import(resolveEsmEntry(moduleName, from))) as Record<string, unknown>
}

/**
 * The ESM entry of `moduleName` as seen from `from`, so the adapter shares this process's ESM copy
 * of core instead of loading the CJS build beside it. Falls back to Node's own resolution.
 */
function resolveEsmEntry(moduleName: string, from: string): string {
  const require = createRequire(join(from, 'noop.js'))
  try {
    const manifestPath = require.resolve(`${moduleName}/package.json`)
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: unknown; module?: unknown } // --allow-fs: a package manifest
    const root = (manifest.exports as Record<string, unknown> | undefined)?.['.']
    const esm = (root as { import?: { default?: unknown } | string } | undefined)?.import
    const target = typeof esm === 'string' ? esm : typeof esm?.default === 'string' ? esm.default : manifest.module
    if (typeof target === 'string') return pathToFileURL(join(dirname(manifestPath), target)).href
  } catch {
    // No exported package.json: let Node resolve the name below.
  }
  try {
    return pathToFileURL(require.resolve(moduleName)).href
  } catch {
    return moduleName
  }
}

function pickFactory(loaded: unknown): (() => Promise<SqliteAdapter>) | undefined {
  let candidate = (loaded as { default?: unknown }).default
  // CJS modules loaded through import() put module.exports on `default`.
  if (candidate && typeof candidate === 'object' && 'default' in candidate) {
    candidate = (candidate as { default: unknown }).default
  }
  return typeof candidate === 'function' ? (candidate as () => Promise<SqliteAdapter>) : undefined
}

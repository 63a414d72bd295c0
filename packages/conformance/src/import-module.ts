import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * Imports `moduleName` as seen from the directory `from`, preferring its ESM entry so the module
 * shares this process's ESM copy of `@kanban-db/core` (the rule `loadAdapter` follows for adapters).
 */
export async function importModule(moduleName: string, from: string): Promise<Record<string, unknown>> {
  return (await import(resolveEsmEntry(moduleName, from))) as Record<string, unknown>
}

/**
 * A `require` rooted at `moduleName`'s own package directory, for what that package depends on (the
 * suite reaches a Postgres server through the `pg` the engine package itself depends on, so it adds
 * no dependency of its own). Undefined when `moduleName` cannot be resolved from `from`.
 */
export function requireFromPackage(moduleName: string, from: string): NodeJS.Require | undefined {
  const manifest = packageManifestPath(moduleName, from)
  return manifest === undefined ? undefined : createRequire(manifest)
}

function packageManifestPath(moduleName: string, from: string): string | undefined {
  try {
    return createRequire(join(from, 'noop.js')).resolve(`${moduleName}/package.json`)
  } catch {
    return undefined
  }
}

function resolveEsmEntry(moduleName: string, from: string): string {
  const manifestPath = packageManifestPath(moduleName, from)
  if (manifestPath !== undefined) {
    try {
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports?: unknown; module?: unknown } // --allow-fs: a package manifest
      const root = (manifest.exports as Record<string, unknown> | undefined)?.['.']
      const esm = (root as { import?: { default?: unknown } | string } | undefined)?.import
      const target = typeof esm === 'string' ? esm : typeof esm?.default === 'string' ? esm.default : manifest.module
      if (typeof target === 'string') return pathToFileURL(join(dirname(manifestPath), target)).href
    } catch {
      // An unreadable manifest: let Node resolve the name below.
    }
  }
  try {
    return pathToFileURL(createRequire(join(from, 'noop.js')).resolve(moduleName)).href
  } catch {
    return moduleName
  }
}

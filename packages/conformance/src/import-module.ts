import { createRequire } from 'node:module'
import { join } from 'node:path'

export { importModule } from '@kanban-db/core/internal'

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

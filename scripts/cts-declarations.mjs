#!/usr/bin/env node
// Usage (from a package, after tsup): node ../../scripts/cts-declarations.mjs PACKAGE...
//
// Makes the CommonJS declaration files (dist/*.d.cts) import the named ESM-only packages (Kysely)
// as ES modules. tsup writes `import { Kysely } from 'kysely'` into them, which TypeScript's node16
// resolution refuses in a CommonJS file (TS1479); a type-only import with
// `with { 'resolution-mode': 'import' }` says the same and type-checks under node16, nodenext and
// bundler. Declaration files hold types only, so nothing changes at run time.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const packages = process.argv.slice(2)
if (packages.length === 0) throw new Error('usage: cts-declarations.mjs PACKAGE...')
const escaped = packages.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')
const statement = new RegExp(`^(import|export) (?:type )?(\\{[^}]*\\}) from '(${escaped})';$`, 'gm')
// A bare `import 'kysely';` (rollup-plugin-dts keeps one where the names went to a shared chunk).
const bare = new RegExp(`^import '(${escaped})';$`, 'gm')

let changed = 0
for (const file of readdirSync('dist').filter((name) => name.endsWith('.d.cts'))) {
  const path = join('dist', file)
  const before = readFileSync(path, 'utf8')
  const after = before.replace(statement, (_match, keyword, names, from) => {
    changed++
    return `${keyword} type ${names} from '${from}' with { 'resolution-mode': 'import' };`
  }).replace(bare, (_match, from) => {
    changed++
    return `import type {} from '${from}' with { 'resolution-mode': 'import' };`
  })
  if (after !== before) writeFileSync(path, after)
}
console.log(`cts-declarations: ${changed} import(s) of ${packages.join(', ')} marked as ES module imports`)

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const packages = fileURLToPath(new URL('../../', import.meta.url))

describe('every adapter package runs the shared suite', () => {
  const adapters = readdirSync(packages).filter((name) => name.startsWith('adapter-'))
  it('finds the bundled adapters', () => {
    expect(adapters.length).toBeGreaterThanOrEqual(3)
  })
  for (const adapter of adapters) {
    it(`${adapter} calls registerConformance in its tests`, () => {
      const testDir = join(packages, adapter, 'test')
      const sources = readdirSync(testDir, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => readFileSync(join(testDir, entry.name), 'utf8'))
      expect(sources.some((source) => source.includes('registerConformance('))).toBe(true)
    })
  }
})

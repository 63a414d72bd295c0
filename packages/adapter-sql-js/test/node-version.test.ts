import { UnsupportedRuntime } from '@kanban-db/core'
import { describe, expect, it } from 'vitest'
import { assertSupportedNode } from '../src/node-version.js'

// The real Node 20 run (and its control, the driver's crash) is in packages/install-check.
describe('the Node.js version guard', () => {
  it.each(['20.20.2', '22.12.0', '18.20.4'])('refuses Node.js %s with UnsupportedRuntime naming the version and what to do', (version) => {
    const error = (() => {
      try {
        assertSupportedNode(version)
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(UnsupportedRuntime)
    expect(error).toMatchObject({ code: 'UNSUPPORTED_RUNTIME', details: { node: version, needs: '>=22.13.0', adapter: '@kanban-db/adapter-sql-js' } })
    expect((error as Error).message).toContain(`this is Node.js ${version}`)
    expect((error as Error).message).toContain('Run on Node.js 22.13 or newer')
  })

  it.each(['22.13.0', '23.11.1', '24.21.0', '26.0.0'])('lets Node.js %s through', (version) => {
    expect(() => assertSupportedNode(version)).not.toThrow()
  })
})

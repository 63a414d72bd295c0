import { UnsupportedRuntime } from '@kanban-db/core'
import { describe, expect, it } from 'vitest'
import { assertSupportedNode } from '../src/node-version.js'

// The version matrix is core's test (test/node-version.test.ts); the real Node 20 run, and its
// control (the driver's crash), is in packages/install-check.
describe('the Node.js version guard', () => {
  it('refuses Node.js 20 with UnsupportedRuntime naming this adapter, the version and what to do', () => {
    let error: unknown
    try {
      assertSupportedNode('20.20.2')
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(UnsupportedRuntime)
    expect(error).toMatchObject({ code: 'UNSUPPORTED_RUNTIME', details: { node: '20.20.2', needs: '>=22.13.0', adapter: '@kanban-db/adapter-better-sqlite3' } })
    expect((error as Error).message).toContain('this is Node.js 20.20.2')
    expect((error as Error).message).toContain('Run on Node.js 22.13 or newer')
  })

  it('lets Node.js 24 through', () => {
    expect(() => assertSupportedNode('24.21.0')).not.toThrow()
  })
})

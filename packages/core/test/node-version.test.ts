import { describe, expect, it } from 'vitest'
import { UnsupportedRuntime } from '../src/errors/errors.js'
import { assertSupportedNode } from '../src/adapter/node-version.js'

// Each SQLite adapter calls this first in createAdapter() (its own test checks it names itself);
// the real Node 20 run, and its control (the driver's crash), is in packages/install-check.
const adapter = '@kanban-db/adapter-example'

function refusal(version: string): unknown {
  try {
    assertSupportedNode({ adapter, reason: 'its driver needs it', version })
  } catch (caught) {
    return caught
  }
  return undefined
}

describe('the Node.js version check of the SQLite adapters', () => {
  it.each(['20.20.2', '22.12.0', '18.20.4'])('refuses Node.js %s with UnsupportedRuntime naming the version and what to do', (version) => {
    const error = refusal(version)
    expect(error).toBeInstanceOf(UnsupportedRuntime)
    expect(error).toMatchObject({ code: 'UNSUPPORTED_RUNTIME', details: { node: version, needs: '>=22.13.0', adapter } })
    expect((error as Error).message).toContain(`this is Node.js ${version}: its driver needs it`)
    expect((error as Error).message).toContain('Run on Node.js 22.13 or newer')
  })

  it.each(['22.13.0', '23.11.1', '24.21.0', '26.0.0'])('lets Node.js %s through', (version) => {
    expect(refusal(version)).toBeUndefined()
  })
})

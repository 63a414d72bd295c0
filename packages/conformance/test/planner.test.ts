import { describe, expect, it } from 'vitest'
import type { Capabilities } from '@kanban-db/core'
import { planCase, type ConformanceCase } from '@kanban-db/conformance'

const everything: Capabilities = { sharedFile: true, wal: true, crossProcessLock: true, onlineBackup: true, workerThreads: true }
const walCase: ConformanceCase = { id: 'x.wal', title: 't', tier: 'core', requires: ['wal', 'sharedFile'], timeoutMs: 1, run: async () => {} }

describe('planCase', () => {
  it('runs a case whose capabilities are all declared', () => {
    expect(planCase(walCase, { capabilities: everything })).toEqual({ action: 'run' })
  })
  it('skips with the missing capabilities named', () => {
    expect(planCase(walCase, { capabilities: { ...everything, wal: false, sharedFile: false } })).toEqual({
      action: 'skip',
      reason: 'adapter lacks wal, sharedFile',
    })
  })
  it('marks a known failure so the runner can report xfail or xpass', () => {
    expect(planCase(walCase, { capabilities: everything, knownFailures: { 'x.wal': 'driver bug #1' } })).toEqual({
      action: 'run',
      expectFailure: 'driver bug #1',
    })
  })
})

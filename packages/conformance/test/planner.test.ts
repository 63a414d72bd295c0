import { describe, expect, it } from 'vitest'
import type { Capabilities } from '@kanban-db/core/adapter'
import { ALL_ENGINES, NO_POSTGRES_SERVER, SKIPPED_BY_REQUEST, planCase, type ConformanceCase } from '@kanban-db/conformance'

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

  it('skips a case the run was asked to skip, saying so, before anything else (control: without the request it runs)', () => {
    expect(planCase(walCase, { capabilities: everything }, { skip: ['other.case'] })).toEqual({ action: 'run' })
    expect(planCase(walCase, { capabilities: everything, knownFailures: { 'x.wal': 'bug' } }, { skip: ['x.wal'] })).toEqual({
      action: 'skip',
      reason: SKIPPED_BY_REQUEST,
    })
    expect(SKIPPED_BY_REQUEST).toMatch(/^skipped by request \(--skip\)/)
  })

  it('skips a case of the default engines (SQLite only) on postgres, saying so', () => {
    expect(planCase(walCase, { engine: 'postgres' })).toEqual({
      action: 'skip',
      reason: "tests SQLite's file and driver; not applicable to postgres",
    })
  })
  it('runs a case of every engine on postgres, where SQLite capabilities say nothing', () => {
    const everyEngine = { ...walCase, engines: ALL_ENGINES }
    expect(planCase(everyEngine, { engine: 'postgres' })).toEqual({ action: 'run' })
    expect(planCase(everyEngine, { capabilities: { ...everything, wal: false } })).toEqual({ action: 'skip', reason: 'adapter lacks wal' })
  })
  it('names the engines of a case that runs on others than SQLite alone', () => {
    expect(planCase({ ...walCase, engines: ['postgres'] }, { capabilities: everything })).toEqual({
      action: 'skip',
      reason: 'runs on postgres only; not applicable to sqlite',
    })
  })
  it('skips every case of a subject without a server, with the reason, before anything else', () => {
    for (const testCase of [walCase, { ...walCase, engines: ALL_ENGINES }]) {
      expect(planCase(testCase, { engine: 'postgres', unavailable: NO_POSTGRES_SERVER })).toEqual({ action: 'skip', reason: NO_POSTGRES_SERVER })
    }
    expect(NO_POSTGRES_SERVER).toBe('no PostgreSQL server: set KANBAN_DB_POSTGRES_URL (./dev conformance starts a throwaway one)')
  })
})

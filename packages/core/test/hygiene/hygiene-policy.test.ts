import { describe, expect, it } from 'vitest'
import { InvalidInput } from '@kanban-db/core'
import { defaultHygienePolicy, resolvePolicy } from '@kanban-db/core/internal'

describe('resolvePolicy', () => {
  it('has the documented defaults', () => {
    expect(resolvePolicy()).toEqual({
      synchronous: 'FULL',
      secureDelete: true,
      cellSizeCheck: true,
      foreignKeys: true,
      busyTimeoutMs: 5000,
      walAutocheckpoint: 1000,
      initLockTimeoutMs: 10_000,
      allowDeleteFallback: true,
      allowUnsupportedFilesystem: false,
    })
    expect(Object.isFrozen(defaultHygienePolicy)).toBe(true)
  })

  it('overrides field by field and keeps the default for a field given as undefined', () => {
    const policy = resolvePolicy({ walAutocheckpoint: 200, busyTimeoutMs: undefined, allowDeleteFallback: false })
    expect(policy.walAutocheckpoint).toBe(200)
    expect(policy.busyTimeoutMs).toBe(5000)
    expect(policy.allowDeleteFallback).toBe(false)
    expect(policy.synchronous).toBe('FULL')
    expect(Object.isFrozen(policy)).toBe(true)
  })

  it('refuses values SQLite would misread', () => {
    expect(() => resolvePolicy({ busyTimeoutMs: -1 })).toThrow(InvalidInput)
    expect(() => resolvePolicy({ walAutocheckpoint: 1.5 })).toThrow(InvalidInput)
    expect(() => resolvePolicy({ synchronous: 'OFF' as never })).toThrow(InvalidInput)
    expect(() => resolvePolicy({ secureDelete: 'yes' as never })).toThrow(InvalidInput)
  })
})

import { describe, expect, it } from 'vitest'
import { renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  afterFailedProbe, enterQuarantine, fingerprintFile, hasStaleWal, quarantineStep, resolveQuarantinePolicy,
} from '@kanban-db/core/internal'
import { tempDir } from '../temp-dir.js'

describe('quarantine state machine', () => {
  it('backs off 30 s doubling to a 30 min cap, by the caller\'s clock', () => {
    const path = join(tempDir(), 'board.db')
    writeFileSync(path, 'x')
    const fingerprint = fingerprintFile(path)
    let now = 1_000_000
    let record = enterQuarantine(now, 'corrupt', 'CORRUPT', fingerprint)
    const waits: number[] = []
    for (let i = 0; i < 10; i += 1) {
      waits.push(record.nextProbeAt - now)
      expect(quarantineStep(record, record.nextProbeAt - 1, fingerprint)).toBe('wait')
      now = record.nextProbeAt
      expect(quarantineStep(record, now, fingerprint)).toBe('probe')
      record = afterFailedProbe(record, now)
    }
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000, 1_800_000, 1_800_000])
    expect(record.failedProbes).toBe(10)
  })

  it('is configurable', () => {
    const policy = resolveQuarantinePolicy({ initialBackoffMs: 10, maxBackoffMs: 25 })
    const fingerprint = { exists: false, device: '', inode: '', size: '', mtimeNs: '' }
    let record = enterQuarantine(0, 'x', undefined, fingerprint, policy)
    expect(record.nextProbeAt).toBe(10)
    record = afterFailedProbe(record, 10, policy)
    expect(record.nextProbeAt).toBe(30)
    record = afterFailedProbe(record, 30, policy)
    expect(record.nextProbeAt).toBe(55)
  })

  it('lets the board out as soon as the file changes: replaced, rewritten, touched or removed', () => {
    const dir = tempDir()
    const path = join(dir, 'board.db')
    writeFileSync(path, 'corrupt bytes')
    const record = enterQuarantine(0, 'x', undefined, fingerprintFile(path))
    expect(quarantineStep(record, 1, fingerprintFile(path))).toBe('wait')
    utimesSync(path, new Date(1_000), new Date(2_000))
    expect(quarantineStep(record, 1, fingerprintFile(path))).toBe('file-changed')

    // A removed file waits for a file to be put in place (no empty board is created in its stead).
    const removed = enterQuarantine(0, 'x', undefined, fingerprintFile(path))
    rmSync(path)
    expect(quarantineStep(removed, 1, fingerprintFile(path))).toBe('wait')
    expect(quarantineStep(removed, 10_000_000, fingerprintFile(path))).toBe('wait')
    writeFileSync(path, 'corrupt bytes')

    const again = enterQuarantine(0, 'x', undefined, fingerprintFile(path))
    writeFileSync(join(dir, 'good.db'), 'good bytes!!!')
    renameSync(join(dir, 'good.db'), path)
    expect(quarantineStep(again, 1, fingerprintFile(path))).toBe('file-changed')
  })
  it('calls a -wal stale only when it is the quarantined file\'s own and not empty', () => {
    const dir = tempDir()
    const wal = join(dir, 'board.db-wal')
    writeFileSync(wal, 'frames of the damaged file')
    const record = enterQuarantine(0, 'x', undefined, fingerprintFile(join(dir, 'board.db')), undefined, fingerprintFile(wal))
    expect(hasStaleWal(record, fingerprintFile(wal))).toBe(true)
    utimesSync(wal, new Date(5_000), new Date(6_000))
    expect(hasStaleWal(record, fingerprintFile(wal))).toBe(false)
    rmSync(wal)
    expect(hasStaleWal(record, fingerprintFile(wal))).toBe(false)
    writeFileSync(wal, '')
    const empty = enterQuarantine(0, 'x', undefined, fingerprintFile(join(dir, 'board.db')), undefined, fingerprintFile(wal))
    expect(hasStaleWal(empty, fingerprintFile(wal))).toBe(false)
  })
})

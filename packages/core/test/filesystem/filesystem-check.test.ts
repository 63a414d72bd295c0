import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { UnsupportedFilesystem } from '@kanban-db/core'
import { checkFilesystem, REFUSED_FILESYSTEMS } from '@kanban-db/core/internal'
import { tempDir } from '../temp-dir.js'

describe('checkFilesystem', () => {
  it('accepts the real local filesystem of a temp dir', () => {
    const result = checkFilesystem(tempDir())
    expect(result.unsupported).toBe(false)
    expect(result.overridden).toBe(false)
    expect(result.magic).toBeGreaterThan(0)
  })

  it.skipIf(!existsSync('/dev/shm'))('accepts tmpfs (/dev/shm, real)', () => {
    const result = checkFilesystem('/dev/shm')
    expect(result.unsupported).toBe(false)
  })

  for (const [magic, name] of [[0xef53, 'ext2/ext3/ext4'], [0x794c7630, 'overlayfs'], [0x01021994, 'tmpfs']] as const) {
    it(`accepts ${name} (0x${magic.toString(16)}) through an injected statfs`, () => {
      expect(checkFilesystem('/data', { statfs: () => ({ type: magic }) })).toMatchObject({ name, unsupported: false })
    })
  }

  for (const refused of REFUSED_FILESYSTEMS) {
    it(`refuses ${refused.name} (0x${refused.magic.toString(16)}) with UnsupportedFilesystem naming it and the choices`, () => {
      const statfs = () => ({ type: refused.magic })
      let error: unknown
      try {
        checkFilesystem('/mnt/boards', { statfs })
      } catch (caught) {
        error = caught
      }
      expect(error).toBeInstanceOf(UnsupportedFilesystem)
      const unsupported = error as UnsupportedFilesystem
      expect(unsupported.code).toBe('UNSUPPORTED_FILESYSTEM')
      expect(unsupported.message).toContain(refused.name)
      expect(unsupported.message).toContain('/mnt/boards')
      expect(unsupported.message).toMatch(/local disk/)
      expect(unsupported.message).toMatch(/allowUnsupportedFilesystem/)
      expect(unsupported.details).toMatchObject({ magic: refused.magic })
    })

    it(`opens ${refused.name} anyway when the caller overrides, and says so`, () => {
      const result = checkFilesystem('/mnt/boards', { statfs: () => ({ type: refused.magic }), allowUnsupported: true })
      expect(result).toMatchObject({ unsupported: true, overridden: true, name: refused.name })
    })
  }

  it('takes a bigint f_type as statfs may report it', () => {
    expect(() => checkFilesystem('/x', { statfs: () => ({ type: 0x6969n }) })).toThrow(UnsupportedFilesystem)
  })

  it('refuses NFS (the control: the same decision on the real local folder passes)', () => {
    const dir = tempDir()
    expect(checkFilesystem(dir).unsupported).toBe(false)
    expect(() => checkFilesystem(dir, { statfs: () => ({ type: 0x6969 }) })).toThrow(/NFS/)
  })
})

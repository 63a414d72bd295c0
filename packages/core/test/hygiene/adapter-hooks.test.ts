import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

describe('the hygiene hooks of each adapter', () => {
  for (const { name, create } of bundledAdapters) {
    it(`${name}: an open that may not create leaves no file; probe and setPragma read back`, async () => {
      const adapter = await create()
      const dir = tempDir()
      const missing = join(dir, 'missing.db')
      await expect(adapter.open(missing, { create: false })).rejects.toThrow()
      await expect(adapter.open(missing, { readonly: true })).rejects.toThrow()
      expect(existsSync(missing)).toBe(false)
      const connection = await adapter.open(join(dir, 'board.db'))
      try {
        expect(adapter.probeJournalMode(connection)).toMatch(/^(delete|memory)$/)
        expect(adapter.setPragma(connection, 'busy_timeout', 4321)).toBe('4321')
        expect(adapter.setPragma(connection, 'synchronous', 'FULL')).toBe('2')
        if (adapter.capabilities.wal) expect(adapter.setPragma(connection, 'journal_mode', 'WAL').toLowerCase()).toBe('wal')
      } finally {
        connection.close()
      }
    })
  }
})

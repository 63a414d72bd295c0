import { describe, expect, it } from 'vitest'
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Corrupt, KanbanDbError, NotADatabase, openBoard } from '@kanban-db/core'
import { checkBoard, fingerprintFile, sameFingerprint } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { fileHash } from './fixtures.js'

const fileAdapters = bundledAdapters.filter((entry) => entry.name !== 'sql.js')

describe('opening a file that is not a board', () => {
  for (const { name, create } of bundledAdapters) {
    it(`${name}: a file that is not a database raises NotADatabase with the path, and is neither initialised nor overwritten`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'notes.db')
      writeFileSync(path, Buffer.alloc(16_384, 'these are my notes, not a database. '))
      const before = { hash: fileHash(path), fingerprint: fingerprintFile(path) }
      const error = await openBoard({ path, adapter }).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(NotADatabase)
      expect(String((error as Error).message)).toContain(path)
      expect(fileHash(path)).toBe(before.hash)
      expect(sameFingerprint(fingerprintFile(path), before.fingerprint)).toBe(true)
    })
  }

  for (const { name, create } of fileAdapters) {
    it(`${name}: a board whose schema page is garbage raises Corrupt (or NotADatabase) and is left untouched`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const board = await openBoard({ path, adapter })
      await board.createTasks(Array.from({ length: 50 }, (_, i) => ({ title: `task ${i}`, body: 'x'.repeat(500) })))
      const pageSize = (await checkBoard(board)).header.pageSize
      await board.close()
      // Page 1 keeps the header but its b-tree (sqlite_schema) becomes garbage.
      writeGarbageIntoPageAfterHeader(path, pageSize)
      const before = fileHash(path)
      const error = await openBoard({ path, adapter }).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(KanbanDbError.isKanbanDbError(error)).toBe(true)
      expect([Corrupt, NotADatabase].some((type) => error instanceof type)).toBe(true)
      expect(fileHash(path)).toBe(before)
    })

    it(`${name}: checkBoard works on an open board too, quiet check included`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'board.db')
      const board = await openBoard({ path, adapter })
      try {
        await board.createTasks(Array.from({ length: 30 }, (_, i) => ({ title: `task ${i}` })))
        const report = await checkBoard(board, { quiet: true, integrity: true })
        expect(report.problems).toEqual([])
        expect(report.journalMode).toBe('wal')
        expect(report.quiet).toMatchObject({ busy: 0, walBytes: 0, agrees: true })
      } finally {
        await board.close()
      }
    })
  }
})

/** Overwrites page 1 from byte 100 on (the header stays valid, the schema b-tree does not). */
function writeGarbageIntoPageAfterHeader(path: string, pageSize: number): void {
  const garbage = Buffer.alloc(pageSize - 100, 0xa5)
  const fd = openSync(path, 'r+') // --allow-fs: test fault injection into a file nobody has open
  try {
    writeSync(fd, garbage, 0, garbage.length, 100)
  } finally {
    closeSync(fd)
  }
}

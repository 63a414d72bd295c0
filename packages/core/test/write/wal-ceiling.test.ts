import { describe, expect, it } from 'vitest'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { openBoard } from '@kanban-db/core'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'

// The WAL ceiling (issue 11): a writer polling for the lock at millisecond scale can start appending
// while SQLite's automatic (PASSIVE) checkpoint of the previous commit still runs, and then the WAL
// never rewinds. Whatever made it grow, the write path brings an overgrown -wal back under
// `walCeiling` x (wal_autocheckpoint x page_size) with a TRUNCATE checkpoint after a commit.
// Deterministic growth here: a reader holds an old snapshot while tasks are written.

const PAGES = 16
const PAGE_SIZE = 4096
const CEILING = 2

async function overgrowThenWrite(create: () => Promise<import('@kanban-db/core').SqliteAdapter>, walCeiling: number): Promise<{ peak: number; after: number }> {
  const adapter = await create()
  const path = join(tempDir(), 'b.db')
  const board = await openBoard({ path, adapter, policy: { walAutocheckpoint: PAGES }, write: { walCeiling } })
  const pinner = await adapter.open(path)
  try {
    pinner.exec('BEGIN')
    pinner.prepare('SELECT count(*) AS n FROM tasks').all([])
    for (let index = 0; index < 60; index++) await board.createTask({ title: `t${index}`, body: 'x'.repeat(2000) })
    const peak = statSync(`${path}-wal`).size
    pinner.exec('COMMIT')
    // Enough commits for a check after the ones refused while the reader held its snapshot.
    for (let index = 0; index < 110; index++) await board.createTask({ title: `u${index}` })
    return { peak, after: statSync(`${path}-wal`).size }
  } finally {
    pinner.close()
    await board.close()
  }
}

for (const { name, create } of bundledAdapters.filter((adapter) => adapter.name !== 'sql.js')) {
  describe(`the WAL ceiling on ${name}`, () => {
    it('brings an overgrown -wal back under the ceiling once the reader in the way is gone (control: without it the file stays large)', async () => {
      const limit = CEILING * PAGES * PAGE_SIZE
      const control = await overgrowThenWrite(create, 0)
      if (!(control.peak > limit && control.after > limit)) {
        throw new Error(`control did not reproduce the hazard: without the ceiling the -wal was ${control.peak} then ${control.after} bytes (limit ${limit})`)
      }
      const guarded = await overgrowThenWrite(create, CEILING)
      expect(guarded.peak).toBeGreaterThan(limit)
      expect(guarded.after).toBeLessThanOrEqual(limit)
    })
  })
}

describe('checkpoints between writers', () => {
  it('runs a RESTART checkpoint after every checkpointEvery commits while another connection writes too, and none alone', async () => {
    const { default: createAdapter } = await import('@kanban-db/adapter-better-sqlite3')
    const { wrapExec } = await import('./wrapping-adapter.js')
    const path = join(tempDir(), 'b.db')
    const checkpoints: string[] = []
    const adapter = wrapExec(await createAdapter(), (text, real) => {
      if (/wal_checkpoint\(RESTART\)/.test(text)) checkpoints.push(text)
      real(text)
    })
    const board = await openBoard({ path, adapter, write: { checkpointEvery: 4 } })
    try {
      // Alone on the board: SQLite's automatic checkpoint is enough.
      for (let index = 0; index < 12; index++) await board.createTask({ title: `alone ${index}` })
      expect(checkpoints).toEqual([])
      // Another connection commits between this board's commits: now this board checkpoints.
      const other = await openBoard({ path, adapter: await createAdapter() })
      try {
        for (let index = 0; index < 8; index++) {
          await other.createTask({ title: `other ${index}` })
          await board.createTask({ title: `shared ${index}` })
        }
      } finally {
        await other.close()
      }
      expect(checkpoints.length).toBe(2)
    } finally {
      await board.close()
    }
  })
})

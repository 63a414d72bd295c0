import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openBoard } from '@kanban-db/core'
import { LATEST_SCHEMA_VERSION } from '@kanban-db/core/adapter'
import { isSchemaCurrent, migrate, migrations, readSchemaVersion } from '@kanban-db/core/internal'
import { bundledAdapters } from '../adapters.js'
import { tempDir } from '../temp-dir.js'
import { Child, repositoryRoot } from './children.js'

const WORKER_SCRIPT = new URL('./fixtures/claim-worker.mjs', import.meta.url).href

describe('migrations', () => {
  it('are numbered 1, 2, 3 ... and end at LATEST_SCHEMA_VERSION', () => {
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, index) => index + 1))
    expect(LATEST_SCHEMA_VERSION).toBe(migrations.length)
  })

  for (const { name, create } of bundledAdapters) {
    it(`${name}: migrate is idempotent and leaves user_version at the latest`, async () => {
      const adapter = await create()
      const connection = await adapter.open(join(tempDir(), 'm.db'))
      try {
        expect(readSchemaVersion(connection)).toBe(0)
        expect(isSchemaCurrent(connection)).toBe(false)
        migrate(connection)
        const tables = connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all([])
        migrate(connection)
        expect(connection.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all([])).toEqual(tables)
        expect(readSchemaVersion(connection)).toBe(LATEST_SCHEMA_VERSION)
        expect(isSchemaCurrent(connection)).toBe(true)
        expect(connection.inTransaction).toBe(false)
      } finally {
        connection.close()
      }
    })
  }

  for (const { name, create } of bundledAdapters.filter((adapter) => adapter.name !== 'sql.js')) {
    it(`${name}: three processes opening one fresh file at once all get the migrated board (not run on sql.js: it has no shared file)`, async () => {
      const adapter = await create()
      const path = join(tempDir(), 'fresh.db')
      const children = [0, 1, 2].map(() => new Child(WORKER_SCRIPT))
      try {
        children.forEach((child, index) =>
          child.send({ type: 'open', path, moduleName: adapter.identity.moduleName, resolveFrom: repositoryRoot, workerId: `child-${index}` }),
        )
        await Promise.all(children.map((child) => child.next('ready')))
        const board = await openBoard({ path, adapter })
        try {
          expect((await board.health()).schemaVersion).toBe(LATEST_SCHEMA_VERSION)
          await board.createTask({ title: 'works' })
          for (const child of children) child.send({ type: 'go' })
          const claimed = (await Promise.all(children.map((child) => child.next('done')))).flatMap((message) => message.claimed as string[])
          expect(claimed).toHaveLength(1)
        } finally {
          await board.close()
        }
      } finally {
        await Promise.all(children.map((child) => child.reap()))
      }
    })
  }
})

import { strict as assert } from 'node:assert'
import type { ConformanceCase } from '../case.js'

/**
 * Two databases opened through one adapter are two databases: what one connection writes never
 * shows in a connection to another file or to `:memory:`, and closing one leaves the other
 * working. (A driver that keyed its state by table name, or shared one in-memory image, fails.)
 */
export const isolatedInstances: ConformanceCase = {
  id: 'core.isolated-instances',
  title: 'connections to different files (and :memory:) share nothing; closing one leaves the others working',
  tier: 'core',
  requires: [],
  timeoutMs: 30_000,
  async run(context) {
    const { adapter } = context
    const first = await adapter.open(context.path('first.db'))
    const second = await adapter.open(context.path('second.db'))
    const memoryA = await adapter.open(':memory:')
    const memoryB = await adapter.open(':memory:')
    const all = [first, second, memoryA, memoryB]
    try {
      all.forEach((connection, index) => {
        connection.exec('create table items (id integer primary key, owner text not null)')
        connection.prepare('insert into items (owner) values (?)').run([`owner-${index}`])
      })
      all.forEach((connection, index) => {
        const owners = connection.prepare('select owner from items order by id').all([]).map((row) => row.owner)
        assert.deepEqual(owners, [`owner-${index}`], `connection ${index} sees another database's rows`)
      })
      first.close()
      memoryA.close()
      assert.equal(first.isOpen, false)
      for (const [index, connection] of [[1, second], [3, memoryB]] as const) {
        connection.prepare('insert into items (owner) values (?)').run([`again-${index}`])
        const owners = connection.prepare('select owner from items order by id').all([]).map((row) => row.owner)
        assert.deepEqual(owners, [`owner-${index}`, `again-${index}`], `connection ${index} broke when another closed`)
      }
    } finally {
      for (const connection of all) connection.close()
    }
    const reread = await adapter.open(context.path('first.db'))
    try {
      const owners = reread.prepare('select owner from items').all([]).map((row) => row.owner)
      assert.deepEqual(owners, ['owner-0'], 'the first file does not hold exactly its own row after reopening')
    } finally {
      reread.close()
    }
  },
}

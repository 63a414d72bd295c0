import { strict as assert } from 'node:assert'
import type { ConformanceCase } from '../case.js'

/** The smallest proof that an adapter stores data: write, close, read back in another process. */
export const fileRoundtrip: ConformanceCase = {
  id: 'core.file-roundtrip',
  title: 'a transaction written to a file is read back by a fresh child process, integrity ok',
  tier: 'core',
  requires: [],
  timeoutMs: 30_000,
  async run(context) {
    const path = context.path('roundtrip.db')
    const connection = await context.adapter.open(path)
    try {
      connection.exec('create table items (id integer primary key, name text not null)')
      connection.exec('BEGIN IMMEDIATE')
      const insert = connection.prepare('insert into items (name) values (?)')
      for (const name of ['alpha', 'beta', 'gamma']) insert.run([name])
      connection.exec('COMMIT')
    } finally {
      connection.close()
    }
    const { rows, integrity } = await context.child<{ rows: { id: number; name: string }[]; integrity: string[] }>(
      'read-rows',
      { path, table: 'items' },
    )
    assert.deepEqual(rows.map((row) => row.name), ['alpha', 'beta', 'gamma'])
    assert.deepEqual(integrity, ['ok'])
  },
}

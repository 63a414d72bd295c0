import { strict as assert } from 'node:assert'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import { openHygienicConnection, pragmaSettings, readPragma, resolvePolicy } from '@kanban-db/core/internal'
import type { ConformanceCase } from '../case.js'

/**
 * Every pragma of the hygiene policy reads back as set on this adapter: right after the open
 * (which, on a fresh file, includes the switch to WAL), after a write transaction (better-sqlite3
 * drops an unset `synchronous` from FULL to NORMAL there, facts §4), on a second connection to the
 * WAL file, and with a non-default policy. Control: a raw connection without the policy differs
 * from it in at least one pragma, so the check can fail.
 */
export const pragmaPolicy: ConformanceCase = {
  id: 'core.pragma-policy',
  title: 'pragmas read back as the policy says, right after the switch to WAL, after a transaction and on a second connection',
  tier: 'core',
  requires: [],
  timeoutMs: 30_000,
  async run(context) {
    const { adapter } = context
    const policy = resolvePolicy()
    const settings = pragmaSettings(policy)
    const differences = (connection: SqliteConnection) =>
      settings.flatMap((setting) => {
        const actual = readPragma(connection, setting.name)
        return actual === setting.expected ? [] : [`${setting.name}=${actual} (policy ${setting.expected})`]
      })
    const writeOnce = (connection: SqliteConnection) => {
      connection.exec('BEGIN IMMEDIATE')
      connection.exec('CREATE TABLE IF NOT EXISTS t (x)')
      connection.prepare('INSERT INTO t (x) VALUES (?)').run([1])
      connection.exec('COMMIT')
    }

    // Control: the driver's own defaults, including WAL set without the policy's explicit synchronous.
    const raw = await adapter.open(context.path('raw.db'))
    let control: string[]
    try {
      if (adapter.capabilities.wal) adapter.setPragma(raw, 'journal_mode', 'WAL')
      writeOnce(raw)
      control = differences(raw)
    } finally {
      raw.close()
    }
    context.note(`control (driver defaults after WAL and one transaction): ${control.join(', ') || 'all as the policy'}`)
    if (control.length === 0) throw new Error('control did not reproduce the hazard: the driver defaults already equal the policy, so this case cannot fail')

    const path = context.path('board.db')
    const checkSecondConnection = async () => {
      const second = await openHygienicConnection(adapter, path, { policy })
      try {
        assert.deepEqual(differences(second.connection), [], 'on a second connection to the file')
        writeOnce(second.connection)
        assert.deepEqual(differences(second.connection), [], 'on the second connection after a transaction')
      } finally {
        second.close()
      }
    }
    const first = await openHygienicConnection(adapter, path, { policy })
    try {
      if (adapter.capabilities.wal) assert.equal(first.journalMode, 'wal')
      assert.deepEqual(differences(first.connection), [], 'right after the open (and the switch to WAL)')
      writeOnce(first.connection)
      assert.deepEqual(differences(first.connection), [], 'after a write transaction')
      if (adapter.capabilities.sharedFile) await checkSecondConnection()
    } finally {
      first.close()
    }
    // A private image (no shared file) is refused a second open while the first lives: reopen instead.
    if (!adapter.capabilities.sharedFile) await checkSecondConnection()

    const custom = resolvePolicy({ synchronous: 'NORMAL', busyTimeoutMs: 1234, walAutocheckpoint: 200, secureDelete: false })
    const tuned = await openHygienicConnection(adapter, context.path('tuned.db'), { policy: custom })
    try {
      writeOnce(tuned.connection)
      for (const setting of pragmaSettings(custom)) {
        assert.equal(readPragma(tuned.connection, setting.name), setting.expected, `custom policy: ${setting.name}`)
      }
    } finally {
      tuned.close()
    }
    context.note(`protected: ${settings.map((setting) => `${setting.name}=${setting.expected}`).join(', ')} after open, after a transaction and on a second connection`)
  },
}

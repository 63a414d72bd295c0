import { strict as assert } from 'node:assert'
import { type SqliteConnection } from '@kanban-db/core/adapter'
import { countOpenFds, openHygienicConnection, resolvePolicy, type HygienicConnection } from '@kanban-db/core/internal'
import type { ConformanceCase } from '../case.js'

const CYCLES = 10_000

/**
 * Opening and closing a board through the open policy 10,000 times in one process leaves this
 * process's descriptor count where it started. Control: twenty opens without a close raise the
 * count by at least twenty, so the measurement sees a leak when there is one.
 */
export const openCloseFd: ConformanceCase = {
  id: 'concurrency.open-close-fd',
  title: '10,000 open/close cycles through the open policy leave the fd count where it started',
  tier: 'concurrency',
  requires: ['sharedFile'],
  timeoutMs: 240_000,
  async run(context) {
    const { adapter } = context
    const options = {
      policy: resolvePolicy(),
      initialise: (connection: SqliteConnection) => connection.exec('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY)'),
      isInitialised: (connection: SqliteConnection) => connection.prepare("SELECT 1 FROM sqlite_master WHERE name = 'items'").all([]).length > 0,
    }
    const path = context.path('board.db')
    const keeper = await openHygienicConnection(adapter, path, options)
    try {
      const fds = () => {
        const count = countOpenFds()
        if (count === undefined) throw new Error('/proc/self/fd is not readable: this case needs Linux')
        return count
      }
      // Control: leaked connections show up in the count.
      const leakedBefore = fds()
      const leaked: HygienicConnection[] = []
      for (let index = 0; index < 20; index += 1) leaked.push(await openHygienicConnection(adapter, path, options))
      const leakedAfter = fds()
      for (const connection of leaked) connection.close()
      context.note(`control: 20 opens without close moved the fd count ${leakedBefore} -> ${leakedAfter}`)
      if (leakedAfter - leakedBefore < 20) throw new Error('control did not reproduce the hazard: 20 unclosed connections did not show in the fd count')

      const before = fds()
      const started = performance.now()
      for (let cycle = 0; cycle < CYCLES; cycle += 1) {
        const board = await openHygienicConnection(adapter, path, options)
        board.close()
      }
      const after = fds()
      context.note(`protected: ${CYCLES} open/close cycles, fd count ${before} -> ${after}, ${((performance.now() - started) / CYCLES).toFixed(3)} ms per cycle`)
      assert.equal(after, before, `the fd count moved from ${before} to ${after} over ${CYCLES} open/close cycles`)
    } finally {
      keeper.close()
    }
  },
}

import { type SqliteAdapter, type SqliteConnection } from '@kanban-db/core/adapter'
import { openHygienicConnection, resolvePolicy } from '@kanban-db/core/internal'
import type { TaskChannel } from '../task-channel.js'

/** What the parent sends for one round of `concurrency.first-open-race`. */
interface Round {
  readonly path: string
  /** `policy`: openHygienicConnection; `naive-check` / `naive-initialise`: the two halves of an unlocked open. */
  readonly mode: 'policy' | 'naive-check' | 'naive-initialise'
}

const createSchema = (connection: SqliteConnection) => {
  connection.exec('BEGIN IMMEDIATE')
  try {
    connection.exec('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)')
    connection.exec('CREATE TABLE IF NOT EXISTS init_marker (pid INTEGER NOT NULL)')
    connection.prepare('INSERT INTO init_marker (pid) VALUES (?)').run([process.pid])
    connection.exec('COMMIT')
  } catch (error) {
    connection.exec('ROLLBACK')
    throw error
  }
}
const hasSchema = (connection: SqliteConnection) =>
  connection.prepare("SELECT 1 FROM sqlite_master WHERE name = 'items'").all([]).length > 0

/**
 * One racer of `concurrency.first-open-race`. Says `ready`, then for each round the parent sends
 * opens the fresh path and answers whether its `initialise` ran, the journal mode and
 * `PRAGMA schema_version`. `naive-check` opens without the policy and answers whether the schema is
 * missing (keeping the connection); `naive-initialise` then creates it without any lock: the
 * check-then-act an unlocked first open does. Ends on `'stop'`.
 */
export async function hygieneFirstOpen(adapter: SqliteAdapter, _args: Record<string, unknown>, channel: TaskChannel): Promise<unknown> {
  const policy = resolvePolicy()
  await channel.send('ready')
  let naive: SqliteConnection | undefined
  for (;;) {
    const message = (await channel.receive()) as Round | 'stop'
    if (message === 'stop') return { pid: process.pid }
    if (message.mode === 'naive-check') {
      naive = await adapter.open(message.path)
      adapter.setPragma(naive, 'busy_timeout', policy.busyTimeoutMs)
      await channel.send({ missing: !hasSchema(naive) })
      continue
    }
    if (message.mode === 'naive-initialise') {
      createSchema(naive!)
      naive!.close()
      naive = undefined
      await channel.send({ initialised: true })
      continue
    }
    let initialised = false
    const board = await openHygienicConnection(adapter, message.path, {
      policy,
      isInitialised: hasSchema,
      initialise: (connection) => {
        createSchema(connection)
        initialised = true
      },
    })
    let schemaVersion: number
    try {
      schemaVersion = Number(Object.values(board.connection.prepare('PRAGMA schema_version').all([])[0] ?? {})[0])
    } finally {
      board.close()
    }
    await channel.send({ initialised, journalMode: board.journalMode, schemaVersion, tookInitLock: board.tookInitLock })
  }
}
